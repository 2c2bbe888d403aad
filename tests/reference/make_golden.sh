#!/usr/bin/env bash
# Regenerates tests/golden/features/*.jsonl with the independent reference
# (features_ref.py, Python + dpkt) over the chosen corpus captures. The
# golden files are the reference's output, never spate's.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${SPATE_CORPUS:-../shared/corpus}
out=tests/golden/features
mkdir -p "$out"
captures=(
  joy__tls12.pcap                       # TLS 1.2
  zeek__http__get.pcap                  # HTTP
  zeek__http__bro.org.pcap              # HTTP, 13 flows, a long transfer
  ipfixprobe__dns.pcap                  # DNS
  zeek__ssh__ssh_kex_curve25519.pcap    # SSH
  zeek__tcp__retransmit-fast009.pcap    # TCP retransmissions (payload cut by the snaplen)
  ndpi__http_ipv6.pcap                  # IPv6
  joy__sample.pcap                      # mixed (bundled in tests/data)
)
for c in "${captures[@]}"; do
  src="$corpus/pcaps/$c"
  [ -f "$src" ] || src="tests/data/$c"
  /usr/bin/python3 tests/reference/features_ref.py --fail-on-warning "$src" > "$out/$c.jsonl"
  echo "$c: $(wc -l < "$out/$c.jsonl") flows"
done

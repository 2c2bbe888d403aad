#!/usr/bin/env python3
"""Writes a capture with one flow per application protocol of rules/apps.rules,
each opening the way its specification says (first bytes of each side), and
the list of expected labels; with --check, runs spate on it and compares.

  make_app_samples.py [--out DIR]            -> DIR/app_samples.pcap,
                                                DIR/app_samples.expected.tsv
  make_app_samples.py --check [--spate BIN] [--legacy-matches]

The TSV has: proto, client addr, client port, server addr, server port,
expected app, sample name. Flow n runs 10.(n/250).(n%250).1 -> 10.200.x.x.2,
so each flow has its own addresses. Needs dpkt (Debian: python3-dpkt).
Ports are the usual ones unless the sample shows that the rule does not need
the port (then an unusual port).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import dpkt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

C, S = "c", "s"  # who sends a message


def nb_name(name, suffix=0x20):
    """NetBIOS first-level encoding (RFC 1001 s14.1): 0x20 + 32 letters."""
    raw = name.upper().ljust(15)[:15].encode() + bytes([suffix])
    return b"\x20" + bytes(b for c in raw for b in (0x41 + (c >> 4), 0x41 + (c & 15)))


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"


def dns_query(qid, name, qtype=1, flags=0x0100):
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_answer(qid, name, flags=0x8180):
    return (struct.pack("!HHHHHH", qid, flags, 1, 1, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
            + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7]))


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def ber(tag, content):
    return bytes([tag]) + ber_len(len(content)) + content


def krb_as_req():
    # RFC 4120 s5.4.1: AS-REQ ::= [APPLICATION 10] KDC-REQ
    pvno = ber(0xa1, ber(0x02, b"\x05"))
    msg_type = ber(0xa2, ber(0x02, b"\x0a"))
    cname = ber(0xa1, ber(0x30, ber(0xa0, ber(0x02, b"\x01")) + ber(0xa1, ber(0x30, ber(0x1b, b"alice")))))
    realm = ber(0xa2, ber(0x1b, b"EXAMPLE.COM"))
    sname = ber(0xa3, ber(0x30, ber(0xa0, ber(0x02, b"\x02"))
                          + ber(0xa1, ber(0x30, ber(0x1b, b"krbtgt") + ber(0x1b, b"EXAMPLE.COM")))))
    till = ber(0xa5, ber(0x18, b"20370913024805Z"))
    nonce = ber(0xa7, ber(0x02, b"\x12\x34\x56\x78"))
    etype = ber(0xa8, ber(0x30, ber(0x02, b"\x12") + ber(0x02, b"\x11")))
    body = ber(0xa4, ber(0x30, ber(0xa0, ber(0x03, b"\x00\x50\x80\x00\x00")) + cname + realm + sname + till
                          + nonce + etype))
    return ber(0x6a, ber(0x30, pvno + msg_type + body))


def snmp_get(community=b"public"):
    oid = ber(0x06, b"\x2b\x06\x01\x02\x01\x01\x01\x00")  # sysDescr.0
    varbind = ber(0x30, ber(0x30, oid + b"\x05\x00"))
    pdu = ber(0xa0, ber(0x02, b"\x01") + ber(0x02, b"\x00") + ber(0x02, b"\x00") + varbind)
    return ber(0x30, ber(0x02, b"\x01") + ber(0x04, community) + pdu)


def ldap_bind():
    return ber(0x30, ber(0x02, b"\x01") + ber(0x60, ber(0x02, b"\x03") + ber(0x04, b"") + ber(0x80, b"")))


def ldap_bind_response():
    return ber(0x30, ber(0x02, b"\x01") + ber(0x61, ber(0x0a, b"\x00") + ber(0x04, b"") + ber(0x04, b"")))


def dhcp_discover():
    p = struct.pack("!BBBBIHH", 1, 1, 6, 0, 0x3903F326, 0, 0x8000) + b"\x00" * 16
    p += bytes.fromhex("00163e112233") + b"\x00" * 10 + b"\x00" * 64 + b"\x00" * 128
    return p + b"\x63\x82\x53\x63" + bytes([53, 1, 1, 55, 3, 1, 3, 6, 255])


def tls_client_hello():
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\x13\x02" + b"\x01\x00"
    ext = struct.pack("!HH", 0x002b, 3) + b"\x02\x03\x04"
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_server_hello():
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x06" + b"\x00\x2b\x00\x02\x03\x04"
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def rpc_call(prog, vers, proc, tcp):
    body = struct.pack("!IIIIII", 0x11223344, 0, 2, prog, vers, proc) + b"\x00" * 16
    return (struct.pack("!I", 0x80000000 | len(body)) + body) if tcp else body


# (name, expected app, transport, server port, [(who, bytes), ...])
SAMPLES = [
    ("http", "http", "tcp", 8000, [(C, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                                   (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]),
    ("http-connect", "http_connect", "tcp", 3128, [(C, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
                                                   (S, b"HTTP/1.1 200 Connection established\r\n\r\n")]),
    ("http-proxy", "http_proxy", "tcp", 3128, [(C, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")]),
    ("tls", "tls", "tcp", 4433, [(C, tls_client_hello()), (S, tls_server_hello())]),
    ("sslv2", "tls", "tcp", 443, [(C, b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + b"\x07\x00\xc0" * 7
                                    + bytes(range(16)))]),
    ("dtls", "dtls", "udp", 4444, [(C, b"\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x30\x01\x00\x00\x24"
                                      + b"\x00" * 48)]),
    ("quic", "quic", "udp", 443, [(C, b"\xc3\x00\x00\x00\x01\x08" + bytes(8) + b"\x00\x44\xd0" + bytes(1180))]),
    ("ssh", "ssh", "tcp", 2222, [(S, b"SSH-2.0-OpenSSH_9.6\r\n"), (C, b"SSH-2.0-PuTTY_Release_0.80\r\n")]),
    ("rdp", "rdp", "tcp", 3389, [(C, b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=user\r\n"
                                    b"\x01\x00\x08\x00\x03\x00\x00\x00")]),
    ("vnc", "vnc", "tcp", 5901, [(S, b"RFB 003.008\n"), (C, b"RFB 003.008\n")]),
    ("x11", "x11", "tcp", 6000, [(C, b"l\x00\x0b\x00\x00\x00\x12\x00\x10\x00\x00\x00MIT-MAGIC-COOKIE-1\x00\x00"
                                    + bytes(16))]),
    ("citrix", "citrix", "tcp", 1494, [(C, b"\x7f\x7fICA\x00" + bytes(10))]),
    ("teamviewer", "teamviewer", "tcp", 5938, [(C, b"\x17\x24\x0a\x20" + bytes(12))]),
    ("telnet", "telnet", "tcp", 23, [(S, b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27")]),
    ("smtp", "smtp", "tcp", 25, [(S, b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"), (C, b"EHLO client.example.com\r\n")]),
    ("smtp-submission", "smtp", "tcp", 587, [(S, b"220 smtp.example.com ready\r\n"), (C, b"EHLO laptop\r\n")]),
    ("imap", "imap", "tcp", 143, [(S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n"), (C, b"a1 CAPABILITY\r\n")]),
    ("pop3", "pop3", "tcp", 110, [(S, b"+OK Dovecot ready.\r\n"), (C, b"CAPA\r\n")]),
    ("nntp", "nntp", "tcp", 119, [(S, b"200 news.example.com InterNetNews NNRP server INN 2.6.4 ready (posting ok)\r\n"),
                                  (C, b"MODE READER\r\n")]),
    ("irc", "irc", "tcp", 6697, [(C, b"NICK alice\r\nUSER alice 0 * :Alice\r\n"),
                                 (S, b":irc.example.net NOTICE * :*** Looking up your hostname...\r\n")]),
    ("xmpp", "xmpp", "tcp", 5222, [(C, b"<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' "
                                       b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")]),
    ("smb2-direct", "smb", "tcp", 445, [(C, b"\x00\x00\x00\x68\xfeSMB\x40\x00" + bytes(94))]),
    ("smb1-netbios", "smb", "tcp", 139, [(C, b"\x81\x00\x00\x44" + nb_name("FILESRV") + b"\x00" + nb_name("CLIENT") + b"\x00"),
                                         (S, b"\x82\x00\x00\x00"),
                                         (C, b"\x00\x00\x00\x2f\xffSMBr" + bytes(39))]),
    ("netbios-session", "netbios", "tcp", 139, [(C, b"\x81\x00\x00\x44" + nb_name("FILESRV") + b"\x00" + nb_name("CLIENT") + b"\x00"),
                                                (S, b"\x83\x00\x00\x01\x82")]),
    ("netbios-ns", "netbios", "udp", 137, [(C, struct.pack("!HHHHHH", 0x8001, 0x0110, 1, 0, 0, 0) + nb_name("WORKGROUP", 0x1d)
                                            + b"\x00\x00\x20\x00\x01")]),
    ("netbios-dgm", "netbios", "udp", 138, [(C, b"\x11\x02\x81\x23\xc0\xa8\x01\x0a\x00\x8a\x00\xbb\x00\x00"
                                             + nb_name("HOST") + b"\x00" + nb_name("WORKGROUP", 0x1e) + b"\x00"
                                             + b"\xffSMB\x25" + bytes(40))]),
    ("dcerpc", "dcerpc", "tcp", 135, [(C, b"\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00" + bytes(56))]),
    ("nfs", "nfs", "udp", 2049, [(C, rpc_call(100003, 3, 0, False))]),
    ("sunrpc", "sunrpc", "tcp", 111, [(C, rpc_call(100000, 2, 3, True))]),
    ("ftp", "ftp", "tcp", 21, [(S, b"220 ProFTPD Server (Debian) [192.0.2.2]\r\n"), (C, b"USER anonymous\r\n")]),
    ("tftp", "tftp", "udp", 69, [(C, b"\x00\x01pxelinux.0\x00octet\x00")]),
    ("rsync", "rsync", "tcp", 873, [(S, b"@RSYNCD: 31.0\n"), (C, b"@RSYNCD: 31.0\n")]),
    ("git", "git", "tcp", 9418, [(C, b"0033git-upload-pack /project.git\x00host=example.com\x00")]),
    ("bittorrent", "bittorrent", "tcp", 51413, [(C, b"\x13BitTorrent protocol" + bytes(8) + bytes(range(20)) + b"-qB4500-abcdefghijkl")]),
    ("bittorrent-dht", "bittorrent", "udp", 6881, [(C, b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")]),
    ("dropbox", "dropbox", "udp", 17500, [(C, b'{"version": [2, 0], "port": 17500, "host_int": 123456789, "displayname": "", "namespaces": [1, 2]}')]),
    ("dhcp", "dhcp", "udp", 67, [(C, dhcp_discover())]),
    ("dhcpv6", "dhcpv6", "udp", 547, [(C, b"\x01\x10\x08\x74\x00\x01\x00\x0e\x00\x01\x00\x01\x1c\x39\xcf\x88\x08\x00\x27\xfe\x8f\x95"
                                        b"\x00\x06\x00\x04\x00\x17\x00\x18\x00\x08\x00\x02\x00\x00")]),
    ("ssdp", "ssdp", "udp", 1900, [(C, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")]),
    ("wsd", "wsd", "udp", 3702, [(C, b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
                                    b'</soap:Envelope>')]),
    ("mdns", "mdns", "udp", 5353, [(C, dns_query(0, "_services._dns-sd._udp.local", 12, 0))]),
    ("llmnr", "llmnr", "udp", 5355, [(C, dns_query(0x1234, "fileserver", 1, 0))]),
    ("dns", "dns", "udp", 10053, [(C, dns_query(0xbeef, "www.example.com")), (S, dns_answer(0xbeef, "www.example.com"))]),
    ("dns-tcp", "dns", "tcp", 53, [(C, (lambda q: struct.pack("!H", len(q)) + q)(dns_query(0x0101, "example.org", 28)))]),
    ("ldap", "ldap", "tcp", 389, [(C, ldap_bind()), (S, ldap_bind_response())]),
    ("kerberos", "kerberos", "udp", 88, [(C, krb_as_req())]),
    ("kerberos-tcp", "kerberos", "tcp", 88, [(C, (lambda m: struct.pack("!I", len(m)) + m)(krb_as_req()))]),
    ("radius", "radius", "udp", 1812, [(C, b"\x01\x07\x00\x26" + bytes(range(16)) + b"\x01\x07alice\x00\x04\x06\xc0\x00\x02\x01\x05\x06\x00\x00\x00\x01")]),
    ("tacacs", "tacacs", "tcp", 49, [(C, b"\xc0\x01\x01\x00\x12\x34\x56\x78\x00\x00\x00\x10" + bytes(16))]),
    ("diameter", "diameter", "tcp", 3868, [(C, b"\x01\x00\x00\x40\x80\x00\x01\x01\x00\x00\x00\x00\x11\x11\x11\x11\x22\x22\x22\x22"
                                              + b"\x00\x00\x01\x08\x40\x00\x00\x14host.example.com" + bytes(24))]),
    ("bgp", "bgp", "tcp", 179, [(C, b"\xff" * 16 + b"\x00\x1d\x01\x04\xfd\xe8\x00\xb4\xc0\x00\x02\x01\x00")]),
    ("snmp", "snmp", "udp", 161, [(C, snmp_get())]),
    ("zabbix", "zabbix", "tcp", 10051, [(C, b"ZBXD\x01\x1d\x00\x00\x00\x00\x00\x00\x00" + b'{"request":"active checks"}')]),
    ("sflow", "sflow", "udp", 6343, [(C, b"\x00\x00\x00\x05\x00\x00\x00\x01\xc0\x00\x02\x01" + bytes(16))]),
    ("netflow", "netflow", "udp", 2055, [(C, b"\x00\x05\x00\x01" + bytes(20) + bytes(48))]),
    ("ntp", "ntp", "udp", 123, [(C, b"\x23\x00\x06\x20" + bytes(44)), (S, b"\x24\x02\x06\xe9" + bytes(44))]),
    ("syslog", "syslog", "udp", 514, [(C, b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")]),
    ("mysql", "mysql", "tcp", 3306, [(S, b"\x4a\x00\x00\x00\x0a8.0.36\x00\x08\x00\x00\x00" + b"abcdefgh\x00\xff\xff\xff\x02\x00\xff\xdf"
                                        + b"\x15" + bytes(10) + b"ijklmnopqrst\x00mysql_native_password\x00")]),
    ("postgresql", "postgresql", "tcp", 5432, [(C, b"\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00database\x00app\x00"
                                                  b"\x00" + bytes(5))]),
    ("postgresql-ssl", "postgresql", "tcp", 5432, [(C, b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), (S, b"S")]),
    ("mssql", "mssql", "tcp", 1433, [(C, b"\x12\x01\x00\x2f\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21"
                                        b"\x00\x01\x03\x00\x22\x00\x04\x04\x00\x26\x00\x01\xff\x09\x00\x00\x00\x00\x00\x01\x00"
                                        b"\xb8\x0d\x00\x00\x01")]),
    ("oracle", "oracle", "tcp", 1521, [(C, b"\x00\xd0\x00\x00\x01\x00\x00\x00\x01\x3a\x01\x2c\x00\x00\x08\x00\x7f\xff"
                                          + b"(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=orcl)))")]),
    ("redis", "redis", "tcp", 6379, [(C, b"*1\r\n$4\r\nPING\r\n"), (S, b"+PONG\r\n")]),
    ("memcached-udp", "memcached", "udp", 11211, [(C, b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n")]),
    ("memcached-tcp", "memcached", "tcp", 11211, [(C, b"version\r\n"), (S, b"VERSION 1.6.21\r\n")]),
    ("mongodb", "mongodb", "tcp", 27017, [(C, struct.pack("<iiii", 58, 1, 0, 2013) + b"\x00\x00\x00\x00\x00"
                                              + b"\x25\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00")]),
    ("cassandra", "cassandra", "tcp", 9042, [(C, b"\x04\x00\x00\x00\x05\x00\x00\x00\x00")]),
    ("mqtt", "mqtt", "tcp", 1883, [(C, b"\x10\x1a\x00\x04MQTT\x04\x02\x00\x3c\x00\x0esensor-0001abc"), (S, b"\x20\x02\x00\x00")]),
    ("amqp", "amqp", "tcp", 5672, [(C, b"AMQP\x00\x00\x09\x01")]),
    ("nats", "nats", "tcp", 4222, [(S, b'INFO {"server_id":"NAB2","version":"2.10.7","max_payload":1048576}\r\n'),
                                   (C, b'CONNECT {"verbose":false}\r\n')]),
    ("ajp", "ajp", "tcp", 8009, [(C, b"\x12\x34\x00\x40\x02\x02\x00\x08HTTP/1.1\x00" + bytes(48))]),
    ("stun", "stun", "udp", 19302, [(C, b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(range(12)))]),
    ("wireguard", "wireguard", "udp", 51820, [(C, b"\x01\x00\x00\x00" + bytes(range(144))), (S, b"\x02\x00\x00\x00" + bytes(88))]),
    ("openvpn", "openvpn", "udp", 1194, [(C, b"\x38" + bytes(range(1, 9)) + b"\x00\x00\x00\x00\x00")]),
    ("openvpn-tlsauth-tcp", "openvpn", "tcp", 443, [(C, b"\x00\x36\x38" + bytes(range(1, 9)) + bytes(range(20)) + b"\x00\x00\x00\x01"
                                                        + b"\x63\x77\x12\x5f" + b"\x00\x00\x00\x00\x00")]),
    ("ike", "ike", "udp", 500, [(C, bytes(range(1, 9)) + bytes(8) + b"\x21\x20\x22\x08\x00\x00\x00\x00\x00\x00\x00\x30" + bytes(20))]),
    ("l2tp", "l2tp", "udp", 1701, [(C, b"\xc8\x02\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x80\x08\x00\x00\x00\x00\x00\x01")]),
    ("pptp", "pptp", "tcp", 1723, [(C, b"\x00\x9c\x00\x01\x1a\x2b\x3c\x4d\x00\x01\x00\x00\x01\x00\x00\x00" + bytes(140))]),
    ("socks5", "socks", "tcp", 1080, [(C, b"\x05\x01\x00"), (S, b"\x05\x00")]),
    ("sip", "sip", "udp", 5060, [(C, b"OPTIONS sip:100@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
                                    b"Max-Forwards: 70\r\nCall-ID: a84b4c76e66710\r\nCSeq: 1 OPTIONS\r\n\r\n"),
                                 (S, b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n")]),
    ("rtsp", "rtsp", "tcp", 554, [(C, b"OPTIONS rtsp://192.0.2.2/stream1 RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
                                  (S, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n")]),
    ("mgcp", "mgcp", "udp", 2427, [(C, b"RQNT 1201 aaln/1@rgw-2567.whatever.net MGCP 1.0\r\nX: 0123456789AC\r\n")]),
    ("rtmp", "rtmp", "tcp", 1935, [(C, b"\x03" + b"\x00\x00\x12\x34" + bytes(4) + bytes(range(256)) * 6)]),
    ("spotify", "spotify", "udp", 57621, [(C, b"SpotUdp0" + bytes(36))]),
    ("steam", "steam", "udp", 27015, [(C, b"\xff\xff\xff\xffTSource Engine Query\x00")]),
    ("s7comm", "s7comm", "tcp", 102, [(C, b"\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"),
                                      (S, b"\x03\x00\x00\x16\x11\xd0\x00\x01\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"),
                                      (C, b"\x03\x00\x00\x19\x02\xf0\x80\x32\x01\x00\x00\x00\x00\x00\x08\x00\x00\xf0\x00\x00\x01"
                                          b"\x00\x01\x01\xe0")]),
    ("dnp3", "dnp3", "tcp", 20000, [(C, b"\x05\x64\x05\xc9\x01\x00\x00\x04\xe9\x21")]),
    ("iec104", "iec104", "tcp", 2404, [(C, b"\x68\x04\x07\x00\x00\x00"), (S, b"\x68\x04\x0b\x00\x00\x00")]),
    ("modbus", "modbus", "tcp", 502, [(C, b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a")]),
    ("ethernetip", "ethernetip", "tcp", 44818, [(C, b"\x65\x00\x04\x00" + bytes(20) + b"\x01\x00\x00\x00")]),
    ("bacnet", "bacnet", "udp", 47808, [(C, b"\x81\x0b\x00\x0c\x01\x20\xff\xff\x00\xff\x10\x08")]),
    ("opcua", "opcua", "tcp", 4840, [(C, b"HELF\x38\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00" + bytes(36))]),
    ("coap", "coap", "udp", 5683, [(C, b"\x40\x01\x12\x34\xbb.well-known\x04core")]),
    ("rtp", "rtp", "udp", 16384, [(C, b"\x80\x00\x00\x01\x00\x00\x00\xa0\xde\xad\xbe\xef" + b"\xff" * 160)]),
    ("rtcp", "rtcp", "udp", 16385, [(C, b"\x80\xc8\x00\x06\xde\xad\xbe\xef" + bytes(20))]),
]


def addrs(n):
    return "10.%d.%d.1" % (n // 250, n % 250), "10.200.%d.%d" % (n // 250, n % 250 + 2)


def eth(src, dst, l4, proto):
    ip = dpkt.ip.IP(src=bytes(map(int, src.split("."))), dst=bytes(map(int, dst.split("."))), p=proto, ttl=64,
                    data=l4)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01", dst=b"\x02\x00\x00\x00\x00\x02",
                                        type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def flow_packets(n, transport, sport, dport, msgs):
    ca, sa = addrs(n)
    pkts = []
    if transport == "udp":
        for who, data in msgs:
            s, d, sp, dp = (ca, sa, sport, dport) if who == C else (sa, ca, dport, sport)
            u = dpkt.udp.UDP(sport=sp, dport=dp, data=data)
            u.ulen = len(u)
            pkts.append(eth(s, d, u, dpkt.ip.IP_PROTO_UDP))
        return pkts
    seq = {C: 1000, S: 5000}

    def seg(who, flags, data=b""):
        s, d, sp, dp = (ca, sa, sport, dport) if who == C else (sa, ca, dport, sport)
        other = S if who == C else C
        t = dpkt.tcp.TCP(sport=sp, dport=dp, seq=seq[who], ack=seq[other] if flags & dpkt.tcp.TH_ACK else 0,
                         flags=flags, win=65535, data=data)
        seq[who] += len(data) + (1 if flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)
        return eth(s, d, t, dpkt.ip.IP_PROTO_TCP)

    pkts.append(seg(C, dpkt.tcp.TH_SYN))
    pkts.append(seg(S, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK))
    pkts.append(seg(C, dpkt.tcp.TH_ACK))
    for who, data in msgs:
        for i in range(0, len(data), 1400):
            pkts.append(seg(who, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data[i:i + 1400]))
    pkts.append(seg(C, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK))
    pkts.append(seg(S, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK))
    pkts.append(seg(C, dpkt.tcp.TH_ACK))
    return pkts


def write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    pcap = os.path.join(out_dir, "app_samples.pcap")
    tsv = os.path.join(out_dir, "app_samples.expected.tsv")
    ts = 1700000000.0
    with open(pcap, "wb") as f, open(tsv, "w") as e:
        w = dpkt.pcap.Writer(f)
        e.write("#proto\tclient\tcport\tserver\tsport\tapp\tsample\n")
        for n, (name, app, transport, dport, msgs) in enumerate(SAMPLES):
            sport = 40000 + n
            for p in flow_packets(n, transport, sport, dport, msgs):
                w.writepkt(p, ts)
                ts += 0.001
            ts += 1.0
            ca, sa = addrs(n)
            e.write("%s\t%s\t%d\t%s\t%d\t%s\t%s\n" % (transport, ca, sport, sa, dport, app, name))
    return pcap, tsv


def read_rules(path):
    rules = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if s and not s.startswith("#"):
                head = s.split("/", 1)[0].split()
                app = next((t[4:] for t in head[2:] if t.startswith("app=")), None)
                if app:
                    rules[int(head[0])] = (n, app)
    return rules


def check(args, pcap, tsv):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.jsonl")
        cmd = [args.spate, "-r", pcap, "-q", "-o", out, "--idle-timeout", "0"]
        cmd += ["--rules", args.rules, "--features", "content"] if args.legacy_matches else ["--features", args.features]
        subprocess.run(cmd, check=True)
        recs = [json.loads(line) for line in open(out)]
    rules = read_rules(args.rules)
    got = {}
    for r in recs:
        label = by = None
        if args.legacy_matches:
            best = min((rules[m["id"]] for m in r.get("matches", []) if m["id"] in rules), default=None)
            if best:
                label, by = best[1], "rule"
        elif r.get("app"):
            label, by = r["app"].get("proto"), r["app"].get("by")
        got[(r["sa"], r["sp"], r["da"], r["dp"])] = (label, by, [m["name"] for m in r.get("matches", [])])
    bad = 0
    for line in open(tsv):
        if line.startswith("#"):
            continue
        proto, ca, cp, sa, sp, app, name = line.rstrip("\n").split("\t")
        label, by, names = got.get((ca, int(cp), sa, int(sp)), (None, None, []))
        ok = label == app and by != "port"
        bad += not ok
        if not ok or args.verbose:
            print("%-4s %-20s expected %-11s got %s (%s) %s" % ("ok" if ok else "FAIL", name, app, label, by, ",".join(names)))
    print("%d of %d samples labelled as expected" % (len(SAMPLES) - bad, len(SAMPLES)))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "spate-app-samples"))
    ap.add_argument("--check", action="store_true", help="run spate on the capture and compare")
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--rules", default=os.path.join(ROOT, "rules", "apps.rules"))
    ap.add_argument("--legacy-matches", action="store_true",
                    help="binary without the app unit: label from the first matched app= rule")
    ap.add_argument("--features", default="app",
                    help="spate's --features for --check (app: the rules alone; all: units too)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    pcap, tsv = write(args.out)
    print("wrote %s (%d flows) and %s" % (pcap, len(SAMPLES), tsv))
    return check(args, pcap, tsv) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())

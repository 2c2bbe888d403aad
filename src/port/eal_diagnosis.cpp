// Start-up failures of the DPDK EAL and its devices, told from the EAL's
// own lines (see eal_diagnosis.hpp). The texts matched are DPDK 22.11's.
#include "spate/port/eal_diagnosis.hpp"

#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace spate::eal {

namespace {

bool has(const std::string& s, const char* what) {
    return s.find(what) != std::string::npos;
}

/// The text between the first pair of `q` after `from` ("" when there is none).
std::string quoted(const std::string& s, size_t from, char q) {
    const size_t a = s.find(q, from);
    if (a == std::string::npos) {
        return {};
    }
    const size_t b = s.find(q, a + 1);
    return b == std::string::npos ? std::string() : s.substr(a + 1, b - a - 1);
}

/// The number that follows `after` in s, as text ("" when none does).
std::string number_after(const std::string& s, const char* after) {
    size_t p = s.find(after);
    if (p == std::string::npos) {
        return {};
    }
    p += std::strlen(after);
    size_t e = p;
    while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e])) != 0) {
        ++e;
    }
    return s.substr(p, e - p);
}

/// A driver's line without its "function(): " prefix.
std::string strip_func(const std::string& s) {
    const size_t p = s.find("(): ");
    return p != std::string::npos && p < 48 && s.find(' ') > p ? s.substr(p + 4) : s;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const std::string& s : v) {
        if (!out.empty()) {
            out += sep;
        }
        out += s;
    }
    return out;
}

/// Whitespace-separated words; quotes group (as the driver splits --eal).
std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    char quote = 0;
    bool any = false;
    for (char c : s) {
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else {
                cur += c;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
            any = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (any || !cur.empty()) {
                out.push_back(cur);
            }
            cur.clear();
            any = false;
        } else {
            cur += c;
        }
    }
    if (any || !cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

/// "net_pcap0,rx_pcap=a.pcap,tx_pcap=b.pcap" -> {rx_pcap: a.pcap, tx_pcap: b.pcap}.
std::map<std::string, std::string> device_params(const std::string& devarg) {
    std::map<std::string, std::string> out;
    std::stringstream ss(devarg);
    std::string kv;
    std::getline(ss, kv, ',');  // the name
    while (std::getline(ss, kv, ',')) {
        const size_t eq = kv.find('=');
        if (eq != std::string::npos) {
            out[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    return out;
}

std::string device_name(const std::string& devarg) {
    return devarg.substr(0, devarg.find(','));
}

/// "net_af_packet0" -> "net_af_packet".
std::string driver_of(const std::string& dev) {
    size_t e = dev.size();
    while (e > 0 && std::isdigit(static_cast<unsigned char>(dev[e - 1])) != 0) {
        --e;
    }
    return dev.substr(0, e);
}

std::string interfaces_text(const MachineFacts& m) {
    return m.interfaces.empty() ? std::string() : " (here: " + join(m.interfaces, ", ") + ")";
}

/// The first path in a line: a quoted one, else a word starting with '/'.
std::string path_in(const std::string& s) {
    for (char q : {'\'', '"'}) {
        std::string p = quoted(s, 0, q);
        if (!p.empty() && p[0] == '/') {
            return p;
        }
    }
    const size_t a = s.find(" /");
    if (a == std::string::npos) {
        return {};
    }
    size_t e = a + 1;
    while (e < s.size() && s[e] != ' ' && s[e] != ':' && s[e] != ',' && s[e] != ')') {
        ++e;
    }
    return s.substr(a + 1, e - a - 1);
}

bool usage_text(const std::string& s) {
    return s.empty() || s[0] == ' ' || s[0] == '\t' || s.rfind("Usage:", 0) == 0 ||
           (s.size() > 8 && s.compare(s.size() - 8, 8, "options:") == 0);
}

Diagnosis hugepages(const std::string& line, const MachineFacts& m) {
    std::string why;
    if (!m.hugetlbfs_mounted && m.hugepages_total == 0) {
        why = "no hugepages are reserved and no hugetlbfs is mounted";
    } else if (!m.hugetlbfs_mounted) {
        why = std::to_string(m.hugepages_total) +
              " hugepages are reserved but no hugetlbfs is mounted";
    } else if (m.hugepages_total == 0) {
        why = "a hugetlbfs is mounted but no hugepages are reserved";
    } else if (m.hugepages_free == 0) {
        why = "all " + std::to_string(m.hugepages_total) + " hugepages are in use";
    } else {
        why = "the EAL could not use them";
    }
    return {"--eal: no usable hugepages: " + why + " (" + line + ")",
            "run without hugepages: add --no-huge -m 1024 to --eal; or reserve and mount them "
            "as root: scripts/dpdk-hugepages 2G (dpdk-hugepages.py --setup 2G)"};
}

}  // namespace

MachineFacts machine_facts() {
    MachineFacts m;
    // The CPUs online (the EAL pins its main thread, so after its start
    // the affinity says only that one); the affinity when sysfs is absent.
    std::ifstream online("/sys/devices/system/cpu/online");
    std::getline(online, m.lcores);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (m.lcores.empty() && sched_getaffinity(0, sizeof(set), &set) == 0) {
        std::string out;
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (!CPU_ISSET(c, &set)) {
                continue;
            }
            int e = c;
            while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set)) {
                ++e;
            }
            out += (out.empty() ? "" : ",") + std::to_string(c);
            if (e > c) {
                out += "-" + std::to_string(e);
            }
            c = e;
        }
        m.lcores = out;
    }
    std::ifstream mounts("/proc/mounts");
    std::string line;
    while (std::getline(mounts, line)) {
        if (has(line, " hugetlbfs ")) {
            m.hugetlbfs_mounted = true;
        }
    }
    std::ifstream meminfo("/proc/meminfo");
    while (std::getline(meminfo, line)) {
        if (line.rfind("HugePages_Total:", 0) == 0) {
            m.hugepages_total = std::strtoull(line.c_str() + 16, nullptr, 10);
        } else if (line.rfind("HugePages_Free:", 0) == 0) {
            m.hugepages_free = std::strtoull(line.c_str() + 15, nullptr, 10);
        }
    }
    if (struct if_nameindex* ifs = if_nameindex()) {
        for (struct if_nameindex* i = ifs; i->if_index != 0; ++i) {
            m.interfaces.emplace_back(i->if_name);
        }
        if_freenameindex(ifs);
    }
    m.root = geteuid() == 0;
    char buf[4096];
    if (getcwd(buf, sizeof buf) != nullptr) {
        m.cwd = buf;
    }
    return m;
}

std::vector<std::string> device_args(const std::string& eal_args, bool allow) {
    std::vector<std::string> out;
    const std::vector<std::string> w = words(eal_args);
    const std::vector<std::string> names =
        allow ? std::vector<std::string>{"-a", "--allow", "-w", "--pci-whitelist"}
              : std::vector<std::string>{"--vdev"};
    for (size_t i = 0; i < w.size(); ++i) {
        for (const std::string& n : names) {
            if (w[i] == n && i + 1 < w.size()) {
                out.push_back(w[i + 1]);
            } else if (w[i].rfind(n + "=", 0) == 0) {
                out.push_back(w[i].substr(n.size() + 1));
            } else if (n.size() == 2 && w[i].size() > 2 && w[i].rfind(n, 0) == 0) {
                out.push_back(w[i].substr(2));  // -a0000:01:00.0
            }
        }
    }
    return out;
}

std::string last_meaningful(const std::vector<std::string>& lines, size_t n) {
    std::vector<std::string> picked;
    for (auto it = lines.rbegin(); it != lines.rend() && picked.size() < n; ++it) {
        const std::string& s = *it;
        if (usage_text(s) || has(s, "EAL: Detected") || has(s, "IOVA") ||
            s.rfind("TELEMETRY:", 0) == 0 || has(s, "Invalid 'command line' arguments") ||
            s.rfind("EAL: FATAL: ", 0) == 0) {
            continue;
        }
        bool dup = false;
        for (const std::string& p : picked) {
            dup = dup || p == s;
        }
        if (!dup) {
            picked.insert(picked.begin(), s);
        }
    }
    return join(picked, "; ");
}

Diagnosis diagnose_init_failure(const std::vector<std::string>& lines, int err,
                                const std::string& eal_args, const MachineFacts& m) {
    // An argument getopt did not take (DPDK parses them twice: one is enough).
    for (const std::string& s : lines) {
        size_t p = s.find("unrecognized option '");
        if (p != std::string::npos) {
            return {"--eal: the EAL has no option '" + quoted(s, p, '\'') + "'",
                    "check the spelling in --eal ([eal] args); --verbose prints the EAL's options"};
        }
        p = s.find("invalid option -- '");
        if (p != std::string::npos) {
            return {"--eal: the EAL has no option '-" + quoted(s, p, '\'') + "'",
                    "check the spelling in --eal ([eal] args); --verbose prints the EAL's options"};
        }
        p = s.find("requires an argument");
        if (p != std::string::npos) {
            std::string opt = quoted(s, s.find("option"), '\'');
            if (!opt.empty() && opt[0] != '-') {
                opt = "-" + opt;
            }
            return {"--eal: the EAL option '" + opt + "' needs a value",
                    "give it one in --eal ([eal] args); --verbose prints the EAL's options"};
        }
    }
    // Lcores.
    std::string have = m.lcores;
    for (const std::string& s : lines) {
        const size_t p = s.find("part of ");
        if (has(s, "invalid core list") && p != std::string::npos) {
            have = s.substr(p + 8);
        }
    }
    const std::string lcore_step = "give -l lcores from " + have +
                                   " in --eal ([eal] args), the main lcore first; `lscpu` lists "
                                   "the CPUs";
    for (const std::string& s : lines) {
        std::string n = number_after(s, "EAL: lcore ");
        if (n.empty()) {
            n = number_after(s, "EAL: core ");
        }
        if (!n.empty() && has(s, " unavailable")) {
            return {"--eal: lcore " + n + " is not on this machine, which has lcores " + have,
                    lcore_step};
        }
    }
    for (const std::string& s : lines) {
        if (has(s, "invalid core list syntax")) {
            return {"--eal: the lcore list is not valid (-l takes e.g. 0-3 or 0,2,4)", lcore_step};
        }
        if (has(s, "Too many lcores") || has(s, "No detected lcore is enabled") ||
            has(s, "Main lcore is not enabled") || has(s, "invalid core list") ||
            has(s, "No lcore available") || has(s, "Cannot detect lcores")) {
            return {"--eal: the lcore list does not fit this machine, which has lcores " + have +
                        " (" + strip_func(s) + ")",
                    lcore_step};
        }
    }
    // Another primary process on the same file prefix.
    for (const std::string& s : lines) {
        if (has(s, "Is another primary process running?")) {
            return {"--eal: another DPDK process runs with this file prefix (it holds " +
                        quoted(s, 0, '\'') + ")",
                    "give each process its own --file-prefix NAME in --eal (or stop the other "
                    "one)"};
        }
    }
    // Hugepages and memory.
    for (const std::string& s : lines) {
        if (has(s, "Not enough memory available")) {
            return {"--eal: not enough hugepage memory (" + strip_func(s) + ")",
                    "ask for less with -m (or --socket-mem) in --eal, or reserve more hugepages "
                    "as root: scripts/dpdk-hugepages SIZE"};
        }
    }
    for (const std::string& s : lines) {
        if (has(s, "Cannot get hugepage information") || has(s, "no mounted hugetlbfs") ||
            (has(s, "No available") && has(s, "hugepages")) ||
            has(s, "Unable to open hugepage directory") || has(s, "Cannot init memory")) {
            std::string what = s;
            if (what.rfind("EAL: FATAL: ", 0) == 0) {
                what = "EAL: " + what.substr(12);
            }
            while (!what.empty() && (what.back() == '.' || what.back() == ' ')) {
                what.pop_back();
            }
            return hugepages(what, m);
        }
    }
    // A device the EAL could not parse (an unknown driver name).
    for (const std::string& s : lines) {
        size_t p = s.find("failed to parse device \"");
        char q = '"';
        if (p == std::string::npos) {
            p = s.find("Unable to parse device '");
            q = '\'';
        }
        if (p != std::string::npos) {
            return {"--eal: no driver takes the device '" + quoted(s, p, q) + "'",
                    "a vdev is a driver name and a number, e.g. net_pcap0, net_af_packet0, "
                    "net_tap0, net_null0, net_ring0: check the spelling, and that the driver's "
                    "library is installed (librte-net-*, from the dpdk package)"};
        }
    }
    // Permissions: name the file or device.
    for (const std::string& s : lines) {
        if (has(s, "Permission denied") || has(s, "Operation not permitted")) {
            const std::string path = path_in(s);
            return {"--eal: permission denied" + (path.empty() ? "" : " on " + path) + " (" +
                        strip_func(s) + ")",
                    m.root ? "check the file's mode and any security module (AppArmor, SELinux) "
                             "that confines spate"
                           : "run spate as root, or give this user access to " +
                                 (path.empty() ? std::string("the file") : path) +
                                 " (hugepages, /var/run/dpdk and /dev/vfio need it)"};
        }
    }
    if ((err == EACCES || err == EPERM) && !m.root) {
        return {"--eal: permission denied (" + last_meaningful(lines, 1) + ")",
                "run spate as root: the EAL needs hugepages, /var/run/dpdk and /dev/vfio"};
    }
    const std::string tail = last_meaningful(lines, 2);
    return {"--eal: EAL initialisation failed: " + std::string(std::strerror(err)) +
                (tail.empty() ? "" : " (" + tail + ")"),
            "check the EAL arguments '" + eal_args + "'; --verbose shows the EAL's full output"};
}

std::optional<Diagnosis> diagnose_probe_failure(const std::vector<std::string>& lines,
                                                const std::string& eal_args,
                                                const MachineFacts& m) {
    const std::vector<std::string> vdevs = device_args(eal_args, false);
    const std::vector<std::string> allowed = device_args(eal_args, true);
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& s = lines[i];
        // What the drivers said just before, in order: their own lines, not
        // the EAL's (and not those of a device that failed earlier).
        std::vector<std::string> said;
        for (size_t j = i; j-- > 0 && i - j <= 4;) {
            if (has(lines[j], "failed to initialize ")) {
                break;
            }
            if (lines[j].rfind("EAL: ", 0) != 0 && !lines[j].empty()) {
                said.insert(said.begin(), strip_func(lines[j]));
            }
        }
        const std::string detail = join(said, "; ");
        size_t p = s.find("failed to initialize ");
        if (p != std::string::npos && has(s, " device")) {
            p += std::strlen("failed to initialize ");
            const std::string dev = s.substr(p, s.find(' ', p) - p);
            std::string devarg = dev;
            for (const std::string& v : vdevs) {
                if (device_name(v) == dev) {
                    devarg = v;
                }
            }
            const std::string driver = driver_of(dev);
            const auto params = device_params(devarg);
            const std::string head = "--eal: --vdev " + dev + ": ";
            const std::string ip_link =
                "`ip link` lists the interfaces" + interfaces_text(m) + "; name one with ";
            // Permissions: what needs them, and how to get them.
            const bool denied =
                has(detail, "Permission denied") || has(detail, "Operation not permitted") ||
                has(detail, "permission") ||
                (driver == "net_af_packet" && has(detail, "AF_PACKET socket") && !m.root);
            const std::string raw_step =
                "run spate as root, or give it CAP_NET_RAW and CAP_NET_ADMIN (setcap "
                "cap_net_raw,cap_net_admin+ep on the binary)";
            if (denied && driver == "net_af_packet") {
                return Diagnosis{head +
                                     "permission denied: an AF_PACKET socket needs root or "
                                     "CAP_NET_RAW (" +
                                     detail + ")",
                                 raw_step};
            }
            if (driver == "net_af_packet" && params.count("iface") != 0 &&
                (has(detail, "No such device") || has(detail, "SIOCGIFINDEX"))) {
                return Diagnosis{head + "interface '" + params.at("iface") + "' does not exist",
                                 ip_link + "iface=NAME"};
            }
            // "Couldn't open WHAT: WHAT: reason" (net_pcap: a file or an interface).
            for (const std::string& d : said) {
                const size_t o = d.find("Couldn't open ");
                const size_t a = o + std::strlen("Couldn't open ");
                const size_t colon = o == std::string::npos ? o : d.find(": ", a);
                if (colon == std::string::npos) {
                    continue;
                }
                const std::string what = d.substr(a, colon - a);
                std::string reason = d.substr(colon + 2);
                if (reason.rfind(what + ": ", 0) == 0) {
                    reason.erase(0, what.size() + 2);
                }
                std::string key;
                for (const auto& [k, v] : params) {
                    if (v == what) {
                        key = k;
                    }
                }
                if (key.find("iface") != std::string::npos) {
                    if (denied) {
                        return Diagnosis{head + "permission denied capturing on interface '" +
                                             what + "' (" + key + "): " + reason,
                                         raw_step};
                    }
                    return Diagnosis{
                        head + "cannot open interface '" + what + "' (" + key + "): " + reason,
                        ip_link + key + "=NAME"};
                }
                const std::string file = key.empty() ? "file" : key + " file";
                if (denied) {
                    return Diagnosis{
                        head + "permission denied on " + file + " '" + what + "': " + reason,
                        "give the user spate runs as read access to " + what +
                            " (and its directories), or run spate as root"};
                }
                return Diagnosis{
                    head + "cannot open " + file + " '" + what + "': " + reason,
                    (key.empty() ? std::string("give") : "give " + key + "=") +
                        " a capture file that exists and can be read (a relative "
                        "path is read from " +
                        (m.cwd.empty() ? std::string("the working directory") : m.cwd) + ")"};
            }
            return Diagnosis{
                head + "the driver did not start" +
                    (detail.empty() ? std::string() : ": " + detail),
                "check its arguments ('" + devarg + "'); --verbose shows the driver's full output"};
        }
        p = s.find("Requested device ");
        if (p != std::string::npos && has(s, "cannot be used")) {
            p += std::strlen("Requested device ");
            const std::string dev = s.substr(p, s.find(' ', p) - p);
            for (const std::string& a : allowed) {
                if (device_name(a) == dev) {
                    return Diagnosis{"--eal: device " + dev + " (allowed with -a) cannot be used" +
                                         (detail.empty() ? std::string() : ": " + detail),
                                     "bind it to vfio-pci as root: scripts/dpdk-bind bind " + dev +
                                         " (scripts/dpdk-bind status lists the NICs and their "
                                         "drivers)"};
                }
            }
        }
    }
    return std::nullopt;
}

Diagnosis diagnose_no_port(const std::string& eal_args) {
    const std::vector<std::string> allowed = device_args(eal_args, true);
    if (!allowed.empty()) {
        return {"--eal: no DPDK port was probed: the EAL found no usable device among " +
                    join(allowed, ", "),
                "check the PCI address and bind the NIC to vfio-pci as root: scripts/dpdk-bind "
                "status, then scripts/dpdk-bind bind ADDRESS"};
    }
    return {"--eal: no DPDK port was probed",
            "add a device to --eal: --vdev net_pcap0,rx_pcap=FILE (a capture), --vdev "
            "net_af_packet0,iface=NAME (an interface), or -a PCI for a NIC bound with "
            "scripts/dpdk-bind"};
}

}  // namespace spate::eal

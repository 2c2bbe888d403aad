// The causes of DPDK start-up refusals, told from the EAL's own lines (as
// DPDK 22.11 prints them): one line of cause naming the option, device,
// file or path, and a next step. The whole-program side (the lines really
// captured, exit 2) is in tests/pcap/test_dpdk.cpp.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "spate/port/eal_diagnosis.hpp"

using namespace spate::eal;

namespace {

MachineFacts facts() {
    MachineFacts m;
    m.lcores = "0-3";
    m.interfaces = {"lo", "eth0"};
    m.root = true;
    m.cwd = "/srv";
    return m;
}

bool has(const std::string& s, const std::string& what) {
    return s.find(what) != std::string::npos;
}

}  // namespace

TEST(EalDiagnosis, HugepagesMissingSaysWhyAndSuggestsNoHuge) {
    const std::vector<std::string> lines = {"EAL: Detected CPU lcores: 2",
                                            "EAL: FATAL: Cannot get hugepage information.",
                                            "EAL: Cannot get hugepage information."};
    MachineFacts m = facts();
    Diagnosis d = diagnose_init_failure(lines, EACCES, "-m 256", m);
    EXPECT_TRUE(has(d.cause, "no usable hugepages")) << d.cause;
    EXPECT_TRUE(has(d.cause, "no hugepages are reserved and no hugetlbfs is mounted")) << d.cause;
    EXPECT_FALSE(has(d.cause, "Permission denied")) << d.cause;  // rte_errno's text misleads
    EXPECT_TRUE(has(d.next_step, "--no-huge -m 1024")) << d.next_step;
    EXPECT_TRUE(has(d.next_step, "scripts/dpdk-hugepages")) << d.next_step;
    m.hugepages_total = 512;
    d = diagnose_init_failure(lines, EACCES, "-m 256", m);
    EXPECT_TRUE(has(d.cause, "512 hugepages are reserved but no hugetlbfs is mounted")) << d.cause;
    m.hugetlbfs_mounted = true;
    d = diagnose_init_failure(lines, EACCES, "-m 256", m);
    EXPECT_TRUE(has(d.cause, "all 512 hugepages are in use")) << d.cause;
}

TEST(EalDiagnosis, NotEnoughHugepageMemory) {
    Diagnosis d = diagnose_init_failure(
        {"EAL: Not enough memory available! Requested: 4096MB, available: 1024MB",
         "EAL: FATAL: Cannot init memory"},
        ENOMEM, "-m 4096", facts());
    EXPECT_TRUE(has(d.cause, "not enough hugepage memory")) << d.cause;
    EXPECT_TRUE(has(d.cause, "Requested: 4096MB")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "-m")) << d.next_step;
}

TEST(EalDiagnosis, LcoreTheMachineLacksListsTheMachinesLcores) {
    Diagnosis d = diagnose_init_failure(
        {"EAL: lcore 63 unavailable",
         "EAL: invalid core list, please check specified cores are part of 0-1",
         "EAL: Invalid 'command line' arguments."},
        EINVAL, "-l 0,63", facts());
    EXPECT_EQ(d.cause, "--eal: lcore 63 is not on this machine, which has lcores 0-1");
    EXPECT_TRUE(has(d.next_step, "-l lcores from 0-1")) << d.next_step;
    d = diagnose_init_failure({"EAL: invalid core list syntax"}, EINVAL, "-l 0-", facts());
    EXPECT_TRUE(has(d.cause, "lcore list is not valid")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "0-3")) << d.next_step;  // from the facts
}

TEST(EalDiagnosis, UnknownOptionAndMissingValue) {
    Diagnosis d = diagnose_init_failure({"spate: unrecognized option '--no-such-flag'",
                                         "EAL: FATAL: Invalid 'command line' arguments."},
                                        EINVAL, "--no-such-flag", facts());
    EXPECT_EQ(d.cause, "--eal: the EAL has no option '--no-such-flag'");
    EXPECT_TRUE(has(d.next_step, "--verbose")) << d.next_step;
    d = diagnose_init_failure({"spate: option requires an argument -- 'l'"}, EINVAL, "-l", facts());
    EXPECT_EQ(d.cause, "--eal: the EAL option '-l' needs a value");
}

TEST(EalDiagnosis, FilePrefixInUse) {
    Diagnosis d = diagnose_init_failure(
        {"EAL: Cannot create lock on '/var/run/dpdk/rte/config'. Is another primary process "
         "running?"},
        EAGAIN, "", facts());
    EXPECT_TRUE(has(d.cause, "another DPDK process")) << d.cause;
    EXPECT_TRUE(has(d.cause, "/var/run/dpdk/rte/config")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "--file-prefix")) << d.next_step;
}

TEST(EalDiagnosis, UnknownDriver) {
    Diagnosis d = diagnose_init_failure({"EAL: failed to parse device \"net_nosuch0\"",
                                         "EAL: Unable to parse device 'net_nosuch0'"},
                                        ENODEV, "--vdev net_nosuch0", facts());
    EXPECT_EQ(d.cause, "--eal: no driver takes the device 'net_nosuch0'");
    EXPECT_TRUE(has(d.next_step, "net_pcap0")) << d.next_step;
}

TEST(EalDiagnosis, PermissionNamesThePath) {
    MachineFacts m = facts();
    m.root = false;
    Diagnosis d = diagnose_init_failure(
        {"EAL: eal_memalloc_init(): Cannot open '/dev/hugepages/rtemap_0': Permission denied"},
        EACCES, "", m);
    EXPECT_TRUE(has(d.cause, "permission denied on /dev/hugepages/rtemap_0")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "root")) << d.next_step;
    EXPECT_TRUE(has(d.next_step, "/dev/hugepages/rtemap_0")) << d.next_step;
    // Not root, nothing said: still permissions, never a bare "Permission denied".
    d = diagnose_init_failure({"EAL: Cannot create runtime directory"}, EACCES, "", m);
    EXPECT_TRUE(has(d.cause, "permission denied")) << d.cause;
    EXPECT_TRUE(has(d.cause, "Cannot create runtime directory")) << d.cause;
}

TEST(EalDiagnosis, UnknownCauseGivesTheLastMeaningfulLines) {
    Diagnosis d =
        diagnose_init_failure({"EAL: Detected CPU lcores: 2", "EAL: something odd happened", "",
                               "Usage: spate [options]", "  -c COREMASK   Hexadecimal bitmask",
                               "EAL: FATAL: odd", "EAL: Invalid 'command line' arguments."},
                              EINVAL, "--weird", facts());
    EXPECT_TRUE(has(d.cause, "EAL: something odd happened")) << d.cause;
    EXPECT_FALSE(has(d.cause, "COREMASK")) << d.cause;
    EXPECT_FALSE(has(d.cause, "Detected")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "--weird")) << d.next_step;
}

TEST(EalDiagnosis, AfPacketOnAMissingInterface) {
    auto d = diagnose_probe_failure(
        {"EAL: Selected IOVA mode 'VA'",
         "rte_pmd_init_internals(): net_af_packet0: ioctl failed (SIOCGIFINDEX):No such device",
         "vdev_probe(): failed to initialize net_af_packet0 device",
         "EAL: Bus (vdev) probe failed."},
        "--no-huge --vdev net_af_packet0,iface=nosuch0,qpairs=1", facts());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, "--eal: --vdev net_af_packet0: interface 'nosuch0' does not exist");
    EXPECT_TRUE(has(d->next_step, "ip link")) << d->next_step;
    EXPECT_TRUE(has(d->next_step, "lo, eth0")) << d->next_step;
}

TEST(EalDiagnosis, PcapVdevWithAMissingFile) {
    auto d = diagnose_probe_failure(
        {"open_single_rx_pcap(): Couldn't open /x/a.pcap: /x/a.pcap: No such file or directory",
         "vdev_probe(): failed to initialize net_pcap1 device", "EAL: Bus (vdev) probe failed."},
        "--vdev net_pcap0,rx_pcap=/ok.pcap --vdev=net_pcap1,rx_pcap=/x/a.pcap", facts());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause,
              "--eal: --vdev net_pcap1: cannot open rx_pcap file '/x/a.pcap': No such file or "
              "directory");
    EXPECT_TRUE(has(d->next_step, "/srv")) << d->next_step;
    // An interface given to net_pcap: the step is ip link.
    d = diagnose_probe_failure(
        {"open_iface_live(): Couldn't open nosuch0: nosuch0: No such device exists",
         "vdev_probe(): failed to initialize net_pcap0 device"},
        "--vdev net_pcap0,iface=nosuch0", facts());
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(has(d->cause, "cannot open interface 'nosuch0' (iface)")) << d->cause;
    EXPECT_TRUE(has(d->next_step, "ip link")) << d->next_step;
}

TEST(EalDiagnosis, OtherVdevFailureQuotesTheDriver) {
    auto d =
        diagnose_probe_failure({"set_interface_name(): TAP invalid remote interface name (x)",
                                "rte_pmd_tap_probe(): Failed to create pmd for net_tap0 as dtap%d",
                                "vdev_probe(): failed to initialize net_tap0 device"},
                               "--vdev net_tap0,iface=x", facts());
    ASSERT_TRUE(d.has_value());
    // Every line the driver said, the first cause first.
    EXPECT_TRUE(has(d->cause,
                    "--vdev net_tap0: the driver did not start: TAP invalid remote interface "
                    "name (x); Failed to create pmd"))
        << d->cause;
    EXPECT_TRUE(has(d->next_step, "net_tap0,iface=x")) << d->next_step;
}

TEST(EalDiagnosis, VdevPermissionsNameTheDeviceOrFileAndHowToGetThem) {
    MachineFacts m = facts();
    m.root = false;
    auto d = diagnose_probe_failure({"open_packet_iface(): Could not open AF_PACKET socket",
                                     "vdev_probe(): failed to initialize net_af_packet0 device"},
                                    "--vdev net_af_packet0,iface=lo", m);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(has(d->cause,
                    "--vdev net_af_packet0: permission denied: an AF_PACKET socket "
                    "needs root or CAP_NET_RAW"))
        << d->cause;
    EXPECT_TRUE(has(d->next_step, "CAP_NET_RAW")) << d->next_step;
    d = diagnose_probe_failure(
        {"open_single_rx_pcap(): Couldn't open /p/a.pcap: /p/a.pcap: Permission denied",
         "vdev_probe(): failed to initialize net_pcap0 device"},
        "--vdev net_pcap0,rx_pcap=/p/a.pcap", m);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause,
              "--eal: --vdev net_pcap0: permission denied on rx_pcap file '/p/a.pcap': "
              "Permission denied");
    EXPECT_TRUE(has(d->next_step, "read access to /p/a.pcap")) << d->next_step;
    d = diagnose_probe_failure(
        {"open_iface_live(): Couldn't open lo: lo: You don't have permission to perform this "
         "capture on that device (socket: Operation not permitted)",
         "open_single_iface(): Couldn't open interface lo",
         "vdev_probe(): failed to initialize net_pcap0 device"},
        "--vdev net_pcap0,iface=lo", m);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(has(d->cause,
                    "--vdev net_pcap0: permission denied capturing on interface 'lo' "
                    "(iface): You don't have permission"))
        << d->cause;
    EXPECT_TRUE(has(d->next_step, "CAP_NET_RAW")) << d->next_step;
}

TEST(EalDiagnosis, PciDeviceOnlyWhenAllowedExplicitly) {
    const std::vector<std::string> lines = {
        "EAL: Probe PCI driver: net_virtio (1af4:1041) device: 0000:00:03.0 (socket -1)",
        "eth_virtio_pci_init(): Failed to init PCI device",
        "EAL: Requested device 0000:00:03.0 cannot be used"};
    // Probed because no -a narrowed the scan: a warning of the EAL's, not a refusal.
    EXPECT_FALSE(diagnose_probe_failure(lines, "--vdev net_null0", facts()).has_value());
    auto d = diagnose_probe_failure(lines, "-a 0000:00:03.0", facts());
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(has(d->cause,
                    "device 0000:00:03.0 (allowed with -a) cannot be used: Failed to "
                    "init PCI device"))
        << d->cause;
    EXPECT_TRUE(has(d->next_step, "scripts/dpdk-bind bind 0000:00:03.0")) << d->next_step;
    EXPECT_FALSE(diagnose_probe_failure({"EAL: Selected IOVA mode 'VA'"}, "", facts()));
}

TEST(EalDiagnosis, NoPort) {
    Diagnosis d = diagnose_no_port("--no-huge");
    EXPECT_EQ(d.cause, "--eal: no DPDK port was probed");
    EXPECT_TRUE(has(d.next_step, "--vdev net_pcap0,rx_pcap=FILE")) << d.next_step;
    d = diagnose_no_port("-a 0000:3b:00.0 --allow=0000:3b:00.1");
    EXPECT_TRUE(has(d.cause, "0000:3b:00.0, 0000:3b:00.1")) << d.cause;
    EXPECT_TRUE(has(d.next_step, "scripts/dpdk-bind")) << d.next_step;
}

TEST(EalDiagnosis, DeviceArgs) {
    EXPECT_EQ(device_args("--vdev a0,x=1 --vdev=b1 '--vdev' 'c2,y=a b'", false),
              (std::vector<std::string>{"a0,x=1", "b1", "c2,y=a b"}));
    EXPECT_EQ(device_args("-a 01:00.0 -a02:00.0 --allow=03:00.0 --no-huge", true),
              (std::vector<std::string>{"01:00.0", "02:00.0", "03:00.0"}));
}

TEST(EalDiagnosis, MachineFactsKnowThisMachine) {
    const MachineFacts m = machine_facts();
    EXPECT_FALSE(m.lcores.empty());
    EXPECT_FALSE(m.interfaces.empty());  // lo at least
}

#include "edge/metrics_dataplane.hpp"

namespace braid::edge {

namespace m = braid::metrics;

namespace {
template <size_t N, class E>
std::array<std::string_view, N> namesOf(std::string_view (*name)(E)) {
  std::array<std::string_view, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = name(static_cast<E>(i));
  return out;
}
}  // namespace

const std::array<std::string_view, kTxDropCount> kTxDropReasons =
    namesOf<kTxDropCount>(&txDropName);
const std::array<std::string_view, kRxDropCount> kRxDropReasons =
    namesOf<kRxDropCount>(&rxDropName);
const std::array<std::string_view, ipsec::kEspDropCount> kEspDropReasons = {
    "too_short", "bad_spi", "replay", "icv", "padding"};

namespace {

using Tx = TxCounters;
const std::array<std::string_view, 3> kShaperPriorities = {"realtime", "business", "bulk"};
const auto kTxFields = m::concat(
    std::to_array<m::Field<Tx>>({
        counterField("braid_tx_tun_reads_total", "TUN reads that returned a packet.", &Tx::tunReads,
                     "tx.tun_reads"),
        counterField("braid_tx_tun_packets_total",
                     "Packets read from the TUN, after GSO splitting.", &Tx::tunPackets,
                     "tx.tun_packets"),
        counterField("braid_tx_tun_bytes_total", "Bytes read from the TUN.", &Tx::tunBytes,
                     "tx.tun_bytes", "bytes"),
        counterField("braid_tx_gso_super_packets_total", "TSO super-packets split in userspace.",
                     &Tx::gsoSuperPackets, "tx.gso_super_packets"),
        counterField("braid_tx_csum_completed_total", "Packets whose checksum braid completed.",
                     &Tx::csumCompleted, "tx.csum_completed"),
        counterField("braid_tx_sealed_packets_total", "Packets sealed with ESP.", &Tx::sealed,
                     "tx.sealed"),
        counterField("braid_tx_send_calls_total", "sendmmsg calls.", &Tx::sendCalls,
                     "tx.send_calls"),
        counterField("braid_tx_datagrams_total", "ESP-in-UDP datagrams sent.", &Tx::datagramsSent,
                     "tx.datagrams_sent"),
        counterField("braid_tx_bytes_total", "UDP payload bytes sent.", &Tx::bytesSent,
                     "tx.bytes_sent", "bytes"),
        counterField("braid_tx_gso_sends_total", "Messages sent with UDP_SEGMENT.", &Tx::gsoSends,
                     "tx.gso_sends"),
        counterField("braid_tx_udp_gso_disabled_total",
                     "Times the kernel refused UDP_SEGMENT and braid fell back to plain sends.",
                     &Tx::udpGsoDisabled, "tx.udp_gso_disabled"),
        counterField("braid_tx_commands_total",
                     "SA installs and removals applied by the TX thread.", &Tx::commands,
                     "tx.commands"),
        counterField("braid_tx_copies_total",
                     "Extra copies of duplicated packets sent (multipath).", &Tx::copiesSent,
                     "tx.copies"),
        counterField("braid_tx_copies_skipped_total",
                     "Copies not made: no shim on the path, too big, or no buffer.",
                     &Tx::copiesSkipped, "tx.copies_skipped"),
        counterField("braid_tx_shim_data_packets_total", "Packets sent with the shim data header.",
                     &Tx::shimData, "tx.shim_data"),
        counterField("braid_tx_probes_total", "Path monitor probes and replies sealed.",
                     &Tx::probesSent, "tx.probes"),
        counterField("braid_tx_fec_parity_packets_total", "FEC parity packets sent.",
                     &Tx::fecParity, "tx.fec_parity"),
    }),
    m::concat(m::arrayFields<Tx, 3, &Tx::shaperQueued>(
                  "braid_tx_shaper_queued_packets_total",
                  "Packets queued by the egress shaper of a shaped uplink, by priority.",
                  "priority", kShaperPriorities, "tx.shaper.{priority}.queued"),
              m::concat(m::arrayFields<Tx, 3, &Tx::shaperSent>(
                            "braid_tx_shaper_sent_packets_total",
                            "Packets the egress shaper released, by priority.", "priority",
                            kShaperPriorities, "tx.shaper.{priority}.sent"),
                        m::arrayFields<Tx, kTxDropCount, &Tx::drops>(
                            "braid_tx_drops_total", "Packets dropped on the way out, by reason.",
                            "reason", kTxDropReasons, "tx.drop.{reason}"))));
// Every TxCounters field has a descriptor (12 + 5 scalars, 2 x 3 shaper, the drops).
static_assert(sizeof(Tx) == (17 + 6 + kTxDropCount) * sizeof(uint64_t),
              "a TxCounters field without a descriptor in kTxFields");

using Rx = RxCounters;
const auto kRxFields = m::concat(
    std::to_array<m::Field<Rx>>({
        counterField("braid_rx_recv_calls_total", "recvmmsg calls that returned data.",
                     &Rx::recvCalls, "rx.recv_calls"),
        counterField("braid_rx_datagrams_total", "UDP datagrams received, after GRO splitting.",
                     &Rx::datagrams, "rx.datagrams"),
        counterField("braid_rx_bytes_total", "UDP payload bytes received.", &Rx::bytes, "rx.bytes",
                     "bytes"),
        counterField("braid_rx_gro_datagrams_total", "Coalesced datagrams delivered by UDP_GRO.",
                     &Rx::groDatagrams, "rx.gro_datagrams"),
        counterField("braid_rx_keepalives_total", "NAT-keepalives received (RFC 3948 2.3).",
                     &Rx::keepalives, "rx.keepalives"),
        counterField("braid_rx_ike_messages_total", "NAT-T IKE messages handed to IKE.",
                     &Rx::ikeMessages, "rx.ike_messages"),
        counterField("braid_rx_esp_packets_total", "ESP packets received.", &Rx::espPackets,
                     "rx.esp_packets"),
        counterField("braid_rx_opened_packets_total", "ESP packets that verified and decrypted.",
                     &Rx::opened, "rx.opened"),
        counterField("braid_rx_dummy_packets_total", "Dummy packets discarded (RFC 4303 2.6).",
                     &Rx::dummy, "rx.dummy"),
        counterField("braid_rx_tun_writes_total", "TUN write calls.", &Rx::tunWrites,
                     "rx.tun_writes"),
        counterField("braid_rx_tun_packets_total", "Inner packets delivered to the TUN.",
                     &Rx::tunPackets, "rx.tun_packets"),
        counterField("braid_rx_tun_bytes_total", "Inner bytes delivered to the TUN.", &Rx::tunBytes,
                     "rx.tun_bytes", "bytes"),
        counterField("braid_rx_gro_coalesced_total",
                     "Packets merged into a preceding one for the TUN.", &Rx::groCoalesced,
                     "rx.gro_coalesced"),
        counterField("braid_rx_tun_gro_disabled_total",
                     "Times the kernel refused a GSO write and coalescing was turned off.",
                     &Rx::tunGroDisabled, "rx.tun_gro_disabled"),
        counterField("braid_rx_commands_total",
                     "SA installs and removals applied by the RX thread.", &Rx::commands,
                     "rx.commands"),
        counterField("braid_rx_shim_data_packets_total",
                     "Packets that arrived with the shim data header.", &Rx::shimData,
                     "rx.shim_data"),
        counterField("braid_rx_probes_total", "Path monitor probes and replies received.",
                     &Rx::probesReceived, "rx.probes"),
        counterField("braid_rx_shim_resyncs_total",
                     "Duplicate suppression restarted because a sender's numbers jumped.",
                     &Rx::shimResyncs, "rx.shim_resyncs"),
        counterField("braid_rx_fec_parity_packets_total", "FEC parity packets received.",
                     &Rx::fecParity, "rx.fec_parity"),
        counterField("braid_rx_fec_recovered_packets_total",
                     "Packets rebuilt from an FEC parity and delivered.", &Rx::fecRecovered,
                     "rx.fec_recovered"),
        counterField("braid_rx_reorder_buffered_packets_total",
                     "Bonded packets that arrived early and waited for the gap before them.",
                     &Rx::reorderBuffered, "rx.reorder_buffered"),
        counterField("braid_rx_reorder_late_packets_total",
                     "Bonded packets that arrived after their gap was given up (delivered out of "
                     "order).",
                     &Rx::reorderLate, "rx.reorder_late"),
        counterField("braid_rx_reorder_gaps_total",
                     "Bonded sequence numbers given up by the reorder buffer (lost or too late).",
                     &Rx::reorderGaps, "rx.reorder_gaps"),
        counterField("braid_rx_reorder_timeouts_total",
                     "Reorder hold expiries that released packets past a gap.",
                     &Rx::reorderTimeouts, "rx.reorder_timeouts"),
        counterField("braid_rx_reorder_overflows_total",
                     "Reorder buffer or pool full: packets released early or passed through.",
                     &Rx::reorderOverflows, "rx.reorder_overflows"),
    }),
    m::arrayFields<Rx, kRxDropCount, &Rx::drops>("braid_rx_drops_total",
                                                 "Datagrams dropped on the way in, by reason.",
                                                 "reason", kRxDropReasons, "rx.drop.{reason}"));
static_assert(sizeof(Rx) == (25 + kRxDropCount) * sizeof(uint64_t),
              "an RxCounters field without a descriptor in kRxFields");

const auto kEspDropFields =
    m::arrayFields<EspDropTotals, ipsec::kEspDropCount, &EspDropTotals::drops>(
        "braid_esp_drops_total",
        "ESP packets dropped, by reason (unknown SPIs included; RFC 4303 3.4).", "reason",
        kEspDropReasons, "rx.drop.esp_{reason}");

}  // namespace

std::span<const m::Field<TxCounters>> txFields() {
  return kTxFields;
}
std::span<const m::Field<RxCounters>> rxFields() {
  return kRxFields;
}
std::span<const m::Field<EspDropTotals>> espDropFields() {
  return kEspDropFields;
}

}  // namespace braid::edge

#include "edge/metrics_ike.hpp"

namespace braid::edge {

namespace m = braid::metrics;

namespace {

using I = ike::IkeCounters;
constexpr std::string_view kSaEventsHelp = "IKE and Child SAs established or ended.";
constexpr std::string_view kFailHelp =
    "IKE negotiations that failed on our side, by reason (notify sent or timeout).";
constexpr std::string_view kPeerFailHelp = "IKE error notifies received from the peer, by reason.";
constexpr std::string_view kIkeDropHelp = "IKE datagrams dropped, by reason.";
constexpr std::string_view kFragHelp =
    "IKE fragments (RFC 7383 SKF) sent and verified on receipt, and messages reassembled.";
constexpr std::string_view kMobikeHelp =
    "MOBIKE address updates (RFC 4555 UPDATE_SA_ADDRESSES) completed, by our role.";
constexpr std::string_view kCookieHelp = "IKE_SA_INIT cookie handling (RFC 7296 2.6), by result.";

// `key`: the stats file's line (ike_driver.cpp sums the uplinks' counters under it).
constexpr m::Field<I> ike(std::string_view name, std::string_view help, uint64_t I::*member,
                          m::FixedLabel label, std::string_view key) {
  return {.name = name,
          .help = help,
          .type = m::Type::kCounter,
          .member = member,
          .statsKey = key,
          .label = label};
}

constexpr auto kIkeFields = std::to_array<m::Field<I>>({
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeSaUp, {"event", "ike_sa_up"},
        "ike.ike_sa_up"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeSaDown, {"event", "ike_sa_down"},
        "ike.ike_sa_down"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childSaUp, {"event", "child_sa_up"},
        "ike.child_sa_up"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childSaDown, {"event", "child_sa_down"},
        "ike.child_sa_down"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childRekeysInitiated,
        {"event", "child_rekey_initiated"}, "ike.child_rekeys_initiated"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childRekeysResponded,
        {"event", "child_rekey_responded"}, "ike.child_rekeys_responded"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childRekeyFailures,
        {"event", "child_rekey_failed"}, "ike.child_rekey_failures"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childRekeyCollisions,
        {"event", "child_rekey_collision"}, "ike.child_rekey_collisions"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childRekeyCollisionsLost,
        {"event", "child_rekey_collision_lost"}, "ike.child_rekey_collisions_lost"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childSoftExpired,
        {"event", "child_soft_expired"}, "ike.child_soft_expired"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childHardExpired,
        {"event", "child_hard_expired"}, "ike.child_hard_expired"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::childSeqLimit, {"event", "child_seq_limit"},
        "ike.child_seq_limit"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeRekeysInitiated,
        {"event", "ike_rekey_initiated"}, "ike.ike_rekeys_initiated"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeRekeysResponded,
        {"event", "ike_rekey_responded"}, "ike.ike_rekeys_responded"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeRekeyFailures,
        {"event", "ike_rekey_failed"}, "ike.ike_rekey_failures"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeRekeyCollisions,
        {"event", "ike_rekey_collision"}, "ike.ike_rekey_collisions"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeRekeyCollisionsLost,
        {"event", "ike_rekey_collision_lost"}, "ike.ike_rekey_collisions_lost"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeSoftExpired,
        {"event", "ike_soft_expired"}, "ike.ike_soft_expired"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::ikeHardExpired,
        {"event", "ike_hard_expired"}, "ike.ike_hard_expired"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::initialContactFlushed,
        {"event", "initial_contact_flushed"}, "ike.initial_contact_flushed"),
    ike("braid_ike_sa_events_total", kSaEventsHelp, &I::duplicateIkeSas,
        {"event", "duplicate_ike_sa"}, "ike.duplicate_ike_sas"),
    ike("braid_ike_dpd_checks_total",
        "Liveness checks (empty INFORMATIONAL) sent after dpd_delay without a word from the peer "
        "(RFC 7296 2.4).",
        &I::dpdChecks, {}, "ike.dpd_checks"),
    ike("braid_ike_failures_total", kFailHelp, &I::authFailed, {"reason", "auth_failed"},
        "ike.auth_failed"),
    ike("braid_ike_failures_total", kFailHelp, &I::noProposal, {"reason", "no_proposal"},
        "ike.no_proposal"),
    ike("braid_ike_failures_total", kFailHelp, &I::unknownIdentity, {"reason", "unknown_identity"},
        "ike.unknown_identity"),
    ike("braid_ike_failures_total", kFailHelp, &I::tsUnacceptable, {"reason", "ts_unacceptable"},
        "ike.ts_unacceptable"),
    ike("braid_ike_failures_total", kFailHelp, &I::invalidKeSent, {"reason", "invalid_ke"},
        "ike.invalid_ke_sent"),
    ike("braid_ike_failures_total", kFailHelp, &I::invalidSyntaxSent, {"reason", "invalid_syntax"},
        "ike.invalid_syntax_sent"),
    ike("braid_ike_failures_total", kFailHelp, &I::unsupportedCritical,
        {"reason", "unsupported_critical"}, "ike.unsupported_critical"),
    ike("braid_ike_failures_total", kFailHelp, &I::peerNotAnswering,
        {"reason", "peer_not_answering"}, "ike.peer_not_answering"),
    ike("braid_ike_peer_failures_total", kPeerFailHelp, &I::authFailedByPeer,
        {"reason", "auth_failed"}, "ike.auth_failed_by_peer"),
    ike("braid_ike_peer_failures_total", kPeerFailHelp, &I::noProposalByPeer,
        {"reason", "no_proposal"}, "ike.no_proposal_by_peer"),
    ike("braid_ike_peer_failures_total", kPeerFailHelp, &I::tsUnacceptableByPeer,
        {"reason", "ts_unacceptable"}, "ike.ts_unacceptable_by_peer"),
    ike("braid_ike_peer_failures_total", kPeerFailHelp, &I::invalidKeReceived,
        {"reason", "invalid_ke"}, "ike.invalid_ke_received"),
    ike("braid_ike_peer_failures_total", kPeerFailHelp, &I::invalidSyntaxReceived,
        {"reason", "invalid_syntax"}, "ike.invalid_syntax_received"),
    ike("braid_ike_refused_child_deletes_total",
        "Child SAs the peer installed that we refused and deleted (RFC 7296 2.9).",
        &I::refusedChildDeletes, {}, "ike.refused_child_deletes"),
    ike("braid_ike_child_deleted_before_created_total",
        "Child SAs not installed: the peer's Delete of them overtook the CREATE_CHILD_SA "
        "response.",
        &I::childDeletedBeforeCreated, {}, "ike.child_deleted_before_created"),
    ike("braid_ike_retransmits_total", "IKE requests retransmitted.", &I::retransmits, {},
        "ike.retransmits"),
    ike("braid_ike_responses_replayed_total",
        "Cached IKE responses sent again for retransmitted requests.", &I::responsesReplayed, {},
        "ike.responses_replayed"),
    ike("braid_ike_requests_processed_total", "IKE requests processed.", &I::requestsProcessed, {},
        "ike.requests_processed"),
    ike("braid_ike_responses_processed_total", "IKE responses processed.", &I::responsesProcessed,
        {}, "ike.responses_processed"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsMalformed, {"reason", "malformed"},
        "ike.drop.malformed"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsUnknownSpi, {"reason", "unknown_spi"},
        "ike.drop.unknown_spi"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsIntegrity, {"reason", "integrity"},
        "ike.drop.integrity"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsMessageId, {"reason", "message_id"},
        "ike.drop.message_id"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsNoConfig, {"reason", "no_config"},
        "ike.drop.no_config"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsState, {"reason", "state"},
        "ike.drop.state"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsUnprotected, {"reason", "unprotected"},
        "ike.drop.unprotected"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsHalfOpenCap, {"reason", "half_open_cap"},
        "ike.drop.half_open_cap"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsHalfOpenPerSource,
        {"reason", "half_open_per_source"}, "ike.drop.half_open_per_source"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsInitRate, {"reason", "init_rate"},
        "ike.drop.init_rate"),
    ike("braid_ike_initiate_retries_total", "IKE SA initiations retried after a failure.",
        &I::initiateRetries, {}, "ike.initiate_retries"),
    ike("braid_ike_peer_endpoint_changes_total", "NAT rebindings followed (RFC 7296 2.23).",
        &I::peerEndpointChanges, {}, "ike.peer_endpoint_changes"),
    ike("braid_ike_mobike_updates_total", kMobikeHelp, &I::mobikeUpdatesInitiated,
        {"role", "initiator"}, "ike.mobike_updates_initiated"),
    ike("braid_ike_mobike_updates_total", kMobikeHelp, &I::mobikeUpdatesResponded,
        {"role", "responder"}, "ike.mobike_updates_responded"),
    ike("braid_ike_address_change_reinitiations_total",
        "IKE SAs re-established because the uplink's address changed without MOBIKE.",
        &I::addressChangeReinitiations, {}, "ike.address_change_reinitiations"),
    ike("braid_ike_cookies_total", kCookieHelp, &I::cookiesSent, {"result", "sent"},
        "ike.cookies_sent"),
    ike("braid_ike_cookies_total", kCookieHelp, &I::cookiesValid, {"result", "valid"},
        "ike.cookies_valid"),
    ike("braid_ike_cookies_total", kCookieHelp, &I::cookiesInvalid, {"result", "invalid"},
        "ike.cookies_invalid"),
    ike("braid_ike_half_open_expired_total", "Half-open IKE SAs removed after half_open_timeout.",
        &I::halfOpenExpired, {}, "ike.half_open_expired"),
    ike("braid_ike_log_suppressed_total",
        "Log lines caused by unauthenticated input that the rate limit held back.",
        &I::logSuppressed, {}, "ike.log_suppressed"),
    ike("braid_ike_fragments_total", kFragHelp, &I::fragmentsSent, {"event", "sent"},
        "ike.fragments_sent"),
    ike("braid_ike_fragments_total", kFragHelp, &I::fragmentsReceived, {"event", "received"},
        "ike.fragments_received"),
    ike("braid_ike_fragments_total", kFragHelp, &I::messagesReassembled,
        {"event", "message_reassembled"}, "ike.messages_reassembled"),
    ike("braid_ike_fragment_shrinks_total",
        "IKE messages split again into smaller fragments (RFC 7383 2.5.2 path MTU discovery).",
        &I::fragmentShrinks, {}, "ike.fragment_shrinks"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsFragmentInvalid,
        {"reason", "fragment_invalid"}, "ike.drop.fragment_invalid"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsFragmentDuplicate,
        {"reason", "fragment_duplicate"}, "ike.drop.fragment_duplicate"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsFragmentStale, {"reason", "fragment_stale"},
        "ike.drop.fragment_stale"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsFragmentLimit, {"reason", "fragment_limit"},
        "ike.drop.fragment_limit"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsFragmentTimeout,
        {"reason", "fragment_timeout"}, "ike.drop.fragment_timeout"),
    ike("braid_ike_drops_total", kIkeDropHelp, &I::dropsEapTlsOversize,
        {"reason", "eap_tls_oversize"}, "ike.drop.eap_tls_oversize"),
});
static_assert(kIkeFields.size() * sizeof(uint64_t) == sizeof(I),
              "every ike::IkeCounters field needs a descriptor in kIkeFields");

}  // namespace

std::span<const m::Field<ike::IkeCounters>> ikeFields() {
  return kIkeFields;
}

}  // namespace braid::edge

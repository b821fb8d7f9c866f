#include "ipsec/ike/child_negotiation.hpp"

#include <algorithm>
#include <cstdio>

#include "core/log.hpp"
#include "ipsec/ike/ike_sa.hpp"
#include "ipsec/ike/remote_access.hpp"
#include "ipsec/ike/tasks.hpp"

namespace braid::ike {
namespace {

constexpr size_t kNonceLength = 32;

ByteVec spiBytes(uint32_t spi) {
  ByteVec b(4);
  storeBe32(b.data(), spi);
  return b;
}

std::vector<Proposal> withoutDh(std::vector<Proposal> list) {
  for (auto& p : list) {
    std::erase_if(p.transforms, [](const Transform& t) { return t.type == TransformType::kKe; });
  }
  return list;
}

DhGroup firstDhGroup(const std::vector<Proposal>& list) {
  for (const auto& p : list) {
    for (const auto& t : p.transforms) {
      if (t.type == TransformType::kKe && t.id != 0) return static_cast<DhGroup>(t.id);
    }
  }
  return DhGroup::kNone;
}

bool offersGroup(const std::vector<Proposal>& list, DhGroup g) {
  for (const auto& p : list) {
    for (const auto& t : p.transforms) {
      if (t.type == TransformType::kKe && t.id == static_cast<uint16_t>(g)) return true;
    }
  }
  return false;
}

// "x25519, ecp256" (the D-H groups a proposal list offers) or "none" (no PFS).
std::string dhGroups(const std::vector<Proposal>& list) {
  std::string out;
  for (const auto& p : list) {
    for (const auto& t : p.transforms) {
      if (t.type != TransformType::kKe || t.id == 0) continue;
      std::string name = transformName(t);
      if (out.find(name) != std::string::npos) continue;
      out += (out.empty() ? "" : ", ") + name;
    }
  }
  return out.empty() ? "none" : out;
}

ByteVec groupData(DhGroup g) {
  ByteVec b(2);
  storeBe16(b.data(), static_cast<uint16_t>(g));
  return b;
}

}  // namespace

std::optional<ipsec::EspCipher> espCipherOf(const Suite& s) {
  if (s.encr == EncrId::kAesGcm16 && s.encrKeyBits == 128) return ipsec::EspCipher::kAesGcm16_128;
  if (s.encr == EncrId::kAesGcm16 && s.encrKeyBits == 256) return ipsec::EspCipher::kAesGcm16_256;
  if (s.encr == EncrId::kChaCha20Poly1305) return ipsec::EspCipher::kChaCha20Poly1305;
  return std::nullopt;
}

ChildNegotiation::ChildNegotiation(IkeSa& sa, const ChildConfig* config, bool inIkeAuth)
    : sa_(sa), config_(config), inIkeAuth_(inIkeAuth), initiator_(config != nullptr) {}

ChildNegotiation::~ChildNegotiation() {
  release();
}

void ChildNegotiation::release() {
  if (spiIn_ != 0 && !installed_) sa_.ctx().releaseChildSpi(spiIn_);
  spiIn_ = 0;
}

std::vector<Proposal> ChildNegotiation::ourProposals() const {
  // RFC 7296 1.2: the Child SA of IKE_AUTH has no KE exchange, so no D-H transforms.
  return inIkeAuth_ ? withoutDh(config_->espProposals) : config_->espProposals;
}

// ---- initiator ------------------------------------------------------------------------------

void ChildNegotiation::setRekey(uint32_t oldSpiIn, std::vector<TrafficSelector> localTs,
                                std::vector<TrafficSelector> remoteTs) {
  rekeySpi_ = oldSpiIn;
  proposedLocal_ = std::move(localTs);
  proposedRemote_ = std::move(remoteTs);
}

bool ChildNegotiation::buildRequest(Message& m) {
  if (spiIn_ == 0) spiIn_ = sa_.ctx().allocateChildSpi();
  if (proposedLocal_.empty()) proposedLocal_ = config_->localTs;
  if (proposedRemote_.empty()) proposedRemote_ = config_->remoteTs;
  if (rekeySpi_ != 0) {
    // RFC 7296 1.3.3: the SPI is the one we expect in inbound packets of the old SA.
    NotifyPayload rekey;
    rekey.notifyType = notify::kRekeySa;
    rekey.protocol = ProtocolId::kEsp;
    rekey.spi = spiBytes(rekeySpi_);
    m.add(PayloadType::kNotify, rekey);
  }
  sent_ = ourProposals();
  uint8_t number = 1;
  for (auto& p : sent_) {
    p.number = number++;
    p.protocol = ProtocolId::kEsp;
    p.spi = spiBytes(spiIn_);
  }
  m.add(PayloadType::kSa, SaPayload{sent_});
  if (!inIkeAuth_) {
    ni_.assign(kNonceLength, 0);
    sa_.ctx().random().fill(ni_);
    m.add(PayloadType::kNonce, NoncePayload{ni_});
    if (keGroup_ == DhGroup::kNone) keGroup_ = firstDhGroup(sent_);
    if (keGroup_ != DhGroup::kNone) {
      auto ke = sa_.ctx().createKeyExchange(keGroup_);
      if (!ke) {
        BRAID_LOG(kError, "ike") << sa_.peerName() << ": key exchange: " << ke.status().message();
        return false;
      }
      ke_ = std::move(ke.value());
      Bytes pub = ke_->publicValue();
      m.add(PayloadType::kKe,
            KePayload{static_cast<uint16_t>(keGroup_), ByteVec(pub.begin(), pub.end())});
    }
  }
  m.add(PayloadType::kTsi, TsPayload{proposedLocal_});
  m.add(PayloadType::kTsr, TsPayload{proposedRemote_});
  m.addNotify(notify::kEspTfcPaddingNotSupported);
  m.addNotify(notify::kNonFirstFragmentsAlso);
  return true;
}

ChildNegotiation::Outcome ChildNegotiation::processResponse(const Message& m) {
  const std::string child = "Child SA '" + config_->name + "'";
  if (const NotifyPayload* n = m.errorNotify()) {
    if (n->notifyType == notify::kInvalidKePayload && !inIkeAuth_ && n->data.size() == 2) {
      auto g = static_cast<DhGroup>(loadBe16(n->data.data()));
      if (g != keGroup_ && offersGroup(config_->espProposals, g)) {
        ++sa_.ctx().counterRef().invalidKeReceived;
        BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << child << ": peer wants D-H group "
                                << static_cast<int>(g) << ", retrying";
        keGroup_ = g;
        return Outcome::kRetry;
      }
    }
    FailureKind kind = n->notifyType == notify::kNoProposalChosen   ? FailureKind::kNoProposal
                       : n->notifyType == notify::kTsUnacceptable   ? FailureKind::kTsUnacceptable
                       : n->notifyType == notify::kInvalidKePayload ? FailureKind::kInvalidKe
                                                                    : FailureKind::kOther;
    std::string detail =
        kind == FailureKind::kNoProposal
            ? " (we offered " + formatProposals(sent_) +
                  (inIkeAuth_ ? std::string() : "; PFS D-H groups: " + dhGroups(sent_)) + ")"
        : kind == FailureKind::kTsUnacceptable
            ? " (we proposed " + selectorsToString(proposedLocal_) +
                  " === " + selectorsToString(proposedRemote_) + ")"
            : "";
    sa_.fail(kind, true, child + " refused by peer: " + notifyName(n->notifyType) + detail);
    release();
    return Outcome::kFailed;
  }
  const auto* sa = m.get<SaPayload>(PayloadType::kSa);
  const auto* tsi = m.get<TsPayload>(PayloadType::kTsi);
  const auto* tsr = m.get<TsPayload>(PayloadType::kTsr);
  if (sa == nullptr || tsi == nullptr || tsr == nullptr || sa->proposals.size() != 1) {
    sa_.fail(FailureKind::kInvalidSyntax, true, child + ": response lacks SA/TSi/TSr");
    release();
    return Outcome::kFailed;
  }
  const Proposal& chosen = sa->proposals[0];
  auto suite = checkSelectedProposal(sent_, chosen);
  if (!suite || chosen.spi.size() != 4) {
    return refuseInstalled(
        FailureKind::kNoProposal,
        child + ": peer chose a proposal we did not offer: " + formatProposal(chosen) +
            " (offered " + formatProposals(sent_) + ")");
  }
  // RFC 7296 2.9: the responder may only narrow what we proposed.
  if (!selectorsWithin(tsi->selectors, proposedLocal_) ||
      !selectorsWithin(tsr->selectors, proposedRemote_)) {
    return refuseInstalled(
        FailureKind::kTsUnacceptable,
        child + ": peer's traffic selectors " + selectorsToString(tsi->selectors) +
            " === " + selectorsToString(tsr->selectors) + " exceed ours " +
            selectorsToString(proposedLocal_) + " === " + selectorsToString(proposedRemote_));
  }
  if (!inIkeAuth_) {
    const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
    if (nonce == nullptr) {
      return refuseInstalled(FailureKind::kInvalidSyntax, child + ": response without nonce");
    }
    nr_ = nonce->data;
    if (suite->dh != DhGroup::kNone) {
      const auto* ke = m.get<KePayload>(PayloadType::kKe);
      if (ke == nullptr || ke_ == nullptr || ke->group != static_cast<uint16_t>(ke_->group())) {
        return refuseInstalled(FailureKind::kInvalidKe,
                               child + ": missing or wrong KE in response");
      }
      auto shared = ke_->computeSharedSecret(ke->data);
      if (!shared) {
        return refuseInstalled(FailureKind::kInvalidKe,
                               child + ": peer's KE rejected: " + shared.status().message());
      }
      shared_ = std::move(shared.value());
    }
  } else {
    ni_ = sa_.nonceI;
    nr_ = sa_.nonceR;
  }
  const uint32_t spiOut = loadBe32(chosen.spi.data());
  if (sa_.deletedBeforeCreated(spiOut)) {
    // The peer's Delete of this very SA overtook this response (a retransmission answered
    // from its cache): it has no half any more. Installing ours would leave a one-sided SA.
    char spi[9];
    std::snprintf(spi, sizeof spi, "%08x", spiOut);
    BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": " << child << ": the peer deleted SPI " << spi
                            << " before its CREATE_CHILD_SA response arrived; not installed";
    ++sa_.ctx().counterRef().childDeletedBeforeCreated;
    sa_.tasks().queue(makeRefusedChildDeleteTask(sa_, spiIn_));
    spiIn_ = 0;  // the delete task's now
    return Outcome::kFailed;
  }
  return install(*suite, spiOut, tsi->selectors, tsr->selectors);
}

// The responder answered with its SA, so it has installed its half: one failure line, then
// an INFORMATIONAL Delete naming our inbound SPI (RFC 7296 2.9, 3.11; as strongSwan does).
// The SPI stays reserved until that exchange is over.
ChildNegotiation::Outcome ChildNegotiation::refuseInstalled(FailureKind kind,
                                                            const std::string& reason) {
  char spi[9];
  std::snprintf(spi, sizeof spi, "%08x", spiIn_);
  ++sa_.ctx().counterRef().refusedChildDeletes;
  sa_.fail(kind, false, reason + "; deleting the peer's Child SA (SPI " + spi + ")");
  sa_.tasks().queue(makeRefusedChildDeleteTask(sa_, spiIn_));
  spiIn_ = 0;  // the delete task's now
  return Outcome::kFailed;
}

// ---- responder ------------------------------------------------------------------------------

void ChildNegotiation::refuse(uint16_t type, FailureKind kind, const std::string& reason) {
  error_ = type;
  sa_.fail(kind, false, reason + "; sending " + notifyName(type));
}

void ChildNegotiation::processRequest(const Message& m) {
  const auto* sa = m.get<SaPayload>(PayloadType::kSa);
  const auto* tsi = m.get<TsPayload>(PayloadType::kTsi);
  const auto* tsr = m.get<TsPayload>(PayloadType::kTsr);
  if (sa == nullptr && tsi == nullptr && tsr == nullptr && inIkeAuth_) return;  // childless
  requested_ = true;
  // Checked before the TS: an IKE SA rekey carries no TSi/TSr (RFC 7296 1.3.2), and
  // INVALID_SYNTAX would make the peer drop the whole IKE SA.
  if (sa != nullptr && !sa->proposals.empty() && sa->proposals[0].protocol == ProtocolId::kIke) {
    // IKE SA rekeying arrives with the next milestone.
    refuse(notify::kNoAdditionalSas, FailureKind::kOther, "IKE SA rekeying not supported yet");
    return;
  }
  if (sa == nullptr || tsi == nullptr || tsr == nullptr) {
    refuse(notify::kInvalidSyntax, FailureKind::kInvalidSyntax, "Child SA request lacks SA/TS");
    return;
  }
  const PeerConfig* pc = sa_.config();
  std::vector<const ChildConfig*> candidates;
  if (const NotifyPayload* r = inIkeAuth_ ? nullptr : m.notify(notify::kRekeySa)) {
    // RFC 7296 1.3.3: the peer rekeys the Child SA it receives with this SPI (our outbound).
    ChildSa* old = r->protocol == ProtocolId::kEsp && r->spi.size() == 4
                       ? sa_.findChildByOutbound(loadBe32(r->spi.data()))
                       : nullptr;
    if (old == nullptr) {
      // RFC 7296 2.25: it was deleted meanwhile (or never existed).
      error_ = notify::kChildSaNotFound;
      BRAID_LOG(kInfo, "ike") << sa_.peerName()
                              << ": peer rekeys a Child SA we do not have; sending "
                                 "CHILD_SA_NOT_FOUND";
      return;
    }
    if (old->state != ChildSaState::kInstalled && !IkeSa::rekeyCollisionPossible(*old)) {
      // Being deleted (RFC 7296 2.25) or already rekeyed: the peer tries again later. One we
      // rekey too is answered as usual (2.25), the collision resolved by nonces (2.8.1).
      error_ = notify::kTemporaryFailure;
      BRAID_LOG(kInfo, "ike") << sa_.peerName() << ": peer rekeys Child SA '"
                              << (old->config ? old->config->name : "") << "' while it is "
                              << childSaStateName(old->state) << "; sending TEMPORARY_FAILURE";
      return;
    }
    replaces_ = old->spiIn;
    if (old->config != nullptr) candidates.push_back(old->config);
  } else {
    for (const auto& c : pc->children) candidates.push_back(&c);
  }
  // Like strongSwan: the first Child config whose selectors and proposals both fit.
  const ChildConfig* tsMatch = nullptr;
  std::optional<Proposal> selected;
  Result<Suite> suite = errorStatus(ErrorCode::kNotFound, "none");
  for (const ChildConfig* cp : candidates) {
    const ChildConfig& c = *cp;
    auto local = narrowSelectors(tsr->selectors, ourSelectors(sa_, c));
    auto remote = narrowSelectors(tsi->selectors, peerSelectors(sa_, c));
    if (local.empty() || remote.empty()) continue;
    if (tsMatch == nullptr) tsMatch = &c;
    config_ = &c;
    selected = selectProposal(ourProposals(), sa->proposals);
    if (selected) suite = suiteOf(*selected);
    if (selected && suite && espCipherOf(*suite) && selected->spi.size() == 4) {
      tsi_ = std::move(remote);
      tsr_ = std::move(local);
      break;
    }
    config_ = nullptr;
  }
  if (tsMatch == nullptr) {
    std::string configured;
    for (const auto& c : pc->children) {
      if (!configured.empty()) configured += ";";
      configured += " '" + c.name + "' " + selectorsToString(c.remoteTs) +
                    " === " + selectorsToString(c.localTs);
    }
    refuse(notify::kTsUnacceptable, FailureKind::kTsUnacceptable,
           "traffic selectors unacceptable: peer proposed " + selectorsToString(tsi->selectors) +
               " === " + selectorsToString(tsr->selectors) + ", configured" + configured);
    return;
  }
  if (config_ == nullptr) {
    config_ = tsMatch;
    if (!inIkeAuth_ && selectProposal(withoutDh(ourProposals()), withoutDh(sa->proposals))) {
      // Only the D-H groups differ: PFS on one side and not on the other (or other groups).
      // IKE_AUTH's Child SA has no KE, so this shows first at the first rekey.
      refuse(notify::kNoProposalChosen, FailureKind::kNoProposal,
             "PFS mismatch for Child SA '" + tsMatch->name + "': peer offers D-H groups " +
                 dhGroups(sa->proposals) + ", we accept " + dhGroups(ourProposals()));
      return;
    }
    refuse(notify::kNoProposalChosen, FailureKind::kNoProposal,
           "no acceptable proposal for Child SA '" + tsMatch->name + "': peer offered " +
               formatProposals(sa->proposals) + ", we accept " + formatProposals(ourProposals()));
    return;
  }
  selected_ = *selected;
  suite_ = *suite;
  spiOut_ = loadBe32(selected->spi.data());
  if (inIkeAuth_) {
    ni_ = sa_.nonceI;
    nr_ = sa_.nonceR;
    return;
  }
  const auto* nonce = m.get<NoncePayload>(PayloadType::kNonce);
  if (nonce == nullptr) {
    refuse(notify::kInvalidSyntax, FailureKind::kInvalidSyntax, "CREATE_CHILD_SA without nonce");
    return;
  }
  ni_ = nonce->data;
  if (suite_.dh != DhGroup::kNone) {
    const auto* ke = m.get<KePayload>(PayloadType::kKe);
    if (ke == nullptr || ke->group != static_cast<uint16_t>(suite_.dh)) {
      // RFC 7296 1.3 + 2.7: tell the initiator the group we want.
      errorData_ = groupData(suite_.dh);
      refuse(notify::kInvalidKePayload, FailureKind::kInvalidKe,
             "Child SA '" + config_->name + "': peer sent KE group " +
                 std::to_string(ke ? ke->group : 0) + ", we want " +
                 std::to_string(static_cast<int>(suite_.dh)));
      return;
    }
    auto kx = sa_.ctx().createKeyExchange(suite_.dh);
    if (!kx) {
      refuse(notify::kNoProposalChosen, FailureKind::kOther,
             "key exchange: " + kx.status().message());
      return;
    }
    ke_ = std::move(kx.value());
    auto shared = ke_->computeSharedSecret(ke->data);
    if (!shared) {
      refuse(notify::kInvalidSyntax, FailureKind::kInvalidSyntax,
             "peer's KE rejected: " + shared.status().message());
      return;
    }
    shared_ = std::move(shared.value());
  }
}

ChildNegotiation::Outcome ChildNegotiation::buildResponse(Message& m) {
  if (!requested_) return Outcome::kFailed;
  if (error_ != 0) {
    m.addNotify(error_, errorData_);
    return Outcome::kFailed;
  }
  spiIn_ = sa_.ctx().allocateChildSpi();
  Proposal p = selected_;
  p.spi = spiBytes(spiIn_);
  m.add(PayloadType::kSa, SaPayload{{p}});
  if (!inIkeAuth_) {
    nr_.assign(kNonceLength, 0);
    sa_.ctx().random().fill(nr_);
    m.add(PayloadType::kNonce, NoncePayload{nr_});
    if (ke_) {
      Bytes pub = ke_->publicValue();
      m.add(PayloadType::kKe,
            KePayload{static_cast<uint16_t>(ke_->group()), ByteVec(pub.begin(), pub.end())});
    }
  }
  m.add(PayloadType::kTsi, TsPayload{tsi_});
  m.add(PayloadType::kTsr, TsPayload{tsr_});
  m.addNotify(notify::kEspTfcPaddingNotSupported);
  m.addNotify(notify::kNonFirstFragmentsAlso);
  return install(suite_, spiOut_, tsr_, tsi_);
}

ChildNegotiation::Outcome ChildNegotiation::install(const Suite& suite, uint32_t spiOut,
                                                    std::vector<TrafficSelector> localTs,
                                                    std::vector<TrafficSelector> remoteTs) {
  auto cipher = espCipherOf(suite);
  auto keys =
      deriveChildSaKeys(sa_.suite.prf, sa_.keys.skD.bytes(), suite, shared_.bytes(), ni_, nr_);
  if (!cipher || !keys) {
    std::string reason =
        "Child SA '" + config_->name + "': cannot derive keys: " +
        (keys ? std::string("cipher not supported by the data plane") : keys.status().message());
    if (initiator_) return refuseInstalled(FailureKind::kOther, reason);
    sa_.fail(FailureKind::kOther, false, reason);
    release();
    return Outcome::kFailed;
  }
  ipsec::EspSaConfig in, out;
  in.spi = spiIn_;
  out.spi = spiOut;
  in.cipher = out.cipher = *cipher;
  in.esn = out.esn = suite.esn;
  in.replayWindow = out.replayWindow = config_->replayWindow;
  in.keymat = initiator_ ? keys->encrR : keys->encrI;
  out.keymat = initiator_ ? keys->encrI : keys->encrR;
  auto child = std::make_unique<ChildSa>();
  child->config = config_;
  child->spiIn = spiIn_;
  child->spiOut = spiOut;
  child->suite = suite;
  child->localTs = std::move(localTs);
  child->remoteTs = std::move(remoteTs);
  installed_ = true;
  // Make-before-break (RFC 7296 2.8): a rekey responder's new SA receives at once but sends
  // only once the old one goes (the initiator has the response by then).
  sa_.addChild(std::move(child), in, out, initiator_ || replaces_ == 0, replaces_);
  if (replaces_ != 0) sa_.noteChildRekey(replaces_, false, spiIn_, ni_, nr_);
  return Outcome::kInstalled;
}

}  // namespace braid::ike

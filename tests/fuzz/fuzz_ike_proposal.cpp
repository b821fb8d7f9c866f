// Fuzz target: proposal strings (braid TOML) and proposal selection (RFC 7296 3.3.6).
// Byte 0 is the mode, the rest the input:
//   bit 0: protocol (0 = IKE, 1 = ESP)
//   bit 1: 0 = the rest is proposal text for parseProposals();
//          1 = the rest is binary proposals as a peer's SA payload may carry them (any
//              transform type, ID and key length): per proposal a transform count, then
//              count x (type u8, id u16, key bits u16)
//   bit 2: selection order (peer first / ours first)
// Whatever is parsed is selected against a fixed configured list, both ways round where the
// input is text. Checked: parse(format(list)) == list; a selected proposal satisfies suiteOf(),
// carries a peer's proposal number, and the peer's checkSelectedProposal() accepts it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "ipsec/ike/proposal.hpp"

namespace {

using namespace braid::ike;

const std::vector<Proposal>& configured(ProtocolId protocol) {
  // What a responder might configure: several proposals, several transforms per type.
  static const std::vector<Proposal> ike =
      parseProposals(
          "aes256gcm16-aes128gcm16-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-modp2048,"
          "aes256-aes128-sha256-sha384-sha512-x25519-ecp256-modp2048,"
          "chacha20poly1305-prfsha256-x25519",
          ProtocolId::kIke)
          .value();
  static const std::vector<Proposal> esp =
      parseProposals(
          "aes256gcm16-aes128gcm16, aes256gcm16-x25519-ecp256-esn-noesn,"
          "aes128-sha256-sha512-noesn, chacha20poly1305-modp2048",
          ProtocolId::kEsp)
          .value();
  return protocol == ProtocolId::kIke ? ike : esp;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Selects and checks the result's invariants.
void selectAndCheck(std::span<const Proposal> ours, std::span<const Proposal> peers,
                    SelectionOrder order) {
  std::optional<Proposal> chosen = selectProposal(ours, peers, order);
  if (!chosen) return;
  auto suite = suiteOf(*chosen);
  check(suite.isOk());
  bool numbered = false;
  for (const auto& p : peers) numbered = numbered || p.number == chosen->number;
  check(numbered);
  // The peer (the initiator) must accept what we chose from its own offer.
  auto back = checkSelectedProposal(peers, *chosen);
  check(back.isOk() && back.value() == suite.value());
  (void)formatProposal(*chosen);
}

std::vector<Proposal> binaryProposals(braid::Bytes in, ProtocolId protocol) {
  std::vector<Proposal> out;
  size_t pos = 0;
  while (pos < in.size() && out.size() < 16) {
    Proposal p;
    p.number = static_cast<uint8_t>(out.size() + 1);
    p.protocol = protocol;
    size_t count = in[pos++] % 16;
    for (size_t i = 0; i < count && pos + 5 <= in.size(); ++i, pos += 5) {
      Transform t;
      t.type = static_cast<TransformType>(in[pos]);
      t.id = static_cast<uint16_t>(in[pos + 1] << 8 | in[pos + 2]);
      t.keyBits = static_cast<uint16_t>(in[pos + 3] << 8 | in[pos + 4]);
      p.transforms.push_back(t);
    }
    (void)suiteOf(p);
    (void)formatProposal(p);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const ProtocolId protocol = (mode & 1) ? ProtocolId::kEsp : ProtocolId::kIke;
  const SelectionOrder order = (mode & 4) ? SelectionOrder::kOursFirst : SelectionOrder::kPeerFirst;
  const braid::Bytes rest(data + 1, size - 1);
  const auto& ours = configured(protocol);

  if (mode & 2) {
    const auto peers = binaryProposals(rest, protocol);
    selectAndCheck(ours, peers, order);
    return 0;
  }

  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  auto parsed = parseProposals(text, protocol);
  if (!parsed) return 0;
  // A parsed proposal with one transform per type is already a complete suite.
  for (const auto& p : *parsed) {
    bool single = true;
    for (uint8_t type = 1; type <= 5; ++type) {
      single = single && p.ofType(static_cast<TransformType>(type)).size() <= 1;
    }
    if (single) check(suiteOf(p).isOk());
  }
  // The string form parses back to the same proposals (proposal.hpp).
  auto again = parseProposals(formatProposals(*parsed), protocol);
  check(again.isOk() && again.value() == parsed.value());
  // As the peer's offer against our configuration, and as our configuration against a peer
  // that offers the fixed list.
  selectAndCheck(ours, *parsed, order);
  selectAndCheck(*parsed, ours, order);
  return 0;
}

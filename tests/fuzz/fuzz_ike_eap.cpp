// Fuzz target: an EAP packet as a client or a gateway may send it inside an IKE EAP payload
// (RFC 7296 3.16). Checked: a packet the codec accepts re-encodes to the same bytes; an
// MSCHAPv2 message, challenge or response it accepts survives its own wire form; the
// authenticator, fed the input as the answer to each of its requests (identifier patched so
// that the input gets past that check), and the peer, fed it as a request, never crash and
// every packet they answer with decodes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ipsec/ike/eap.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/events.hpp"

namespace {

using namespace braid::ike;
using namespace braid::ike::mschapv2;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void checkReply(const EapStep& s) {
  if (!s.reply.empty()) check(EapPacket::decode(s.reply).has_value());
}

std::shared_ptr<EapUserTable> users() {
  static std::shared_ptr<EapUserTable> u = [] {
    auto t = std::make_shared<EapUserTable>();
    t->add({"alice", "staff", *ntPasswordHash("pw")});
    return t;
  }();
  return u;
}

// Sends `input` (identifier set to the pending request's) after `rounds` good answers.
void feedAuthenticator(std::vector<uint8_t> input, int rounds) {
  SeededRandom rnd(1);
  EapAuthenticator a(users(), "gw", rnd);
  SeededRandom prnd(2);
  EapPeer p("alice", *ntPasswordHash("pw"), prnd);
  std::vector<uint8_t> req = a.start();
  for (int i = 0; i < rounds; ++i) {
    EapStep ps = p.process(req);
    check(ps.outcome == EapOutcome::kContinue);
    EapStep as = a.process(ps.reply);
    check(as.outcome == EapOutcome::kContinue);
    req = as.reply;
  }
  if (input.size() >= 2) input[1] = EapPacket::decode(req)->identifier;
  EapStep s = a.process(input);
  checkReply(s);
  if (s.outcome == EapOutcome::kSuccess) check(a.msk().size() == 32);
  checkReply(a.process(input));  // after the outcome: a failure, never a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  braid::Bytes in(data, size);
  auto p = EapPacket::decode(in);
  if (p) {
    std::vector<uint8_t> again = p->encode();
    check(again.size() == size && std::equal(again.begin(), again.end(), data));
    (void)p->summary();
    if (p->type == eap_type::kMschapv2 &&
        (p->code == EapCode::kRequest || p->code == EapCode::kResponse)) {
      if (auto m = Message::decode(p->data)) {
        auto m2 = Message::decode(m->encode());
        check(m2 && m2->op == m->op && m2->data == m->data);
        if (auto c = ChallengeData::decode(m->data)) {
          check(c->encode() == m->data);
        }
        if (auto r = ResponseData::decode(m->data)) {
          auto r2 = ResponseData::decode(r->encode());
          check(r2 && r2->ntResponse == r->ntResponse && r2->name == r->name &&
                r2->peerChallenge == r->peerChallenge && r2->flags == r->flags);
        }
      }
    }
  }
  std::vector<uint8_t> input(data, data + size);
  for (int rounds = 0; rounds < 3; ++rounds) feedAuthenticator(input, rounds);
  SeededRandom rnd(3);
  EapPeer peer("alice", *ntPasswordHash("pw"), rnd);
  checkReply(peer.process(in));
  return 0;
}

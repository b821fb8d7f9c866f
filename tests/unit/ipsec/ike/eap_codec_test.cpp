// The EAP codec (RFC 3748 4) and EAP-MSCHAPv2 messages (draft-kamath 2) with truncated and
// hostile packets, and the two EAP state machines against each other.
#include <gtest/gtest.h>

#include "ipsec/ike/eap.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/events.hpp"

namespace braid::ike {
namespace {

using namespace mschapv2;

TEST(EapCodec, RoundTripAndSummary) {
  EapPacket p{EapCode::kRequest, 7, eap_type::kIdentity, {}};
  ByteVec b = p.encode();
  EXPECT_EQ(b, (ByteVec{1, 7, 0, 5, 1}));
  auto d = EapPacket::decode(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, EapCode::kRequest);
  EXPECT_EQ(d->identifier, 7);
  EXPECT_EQ(d->type, eap_type::kIdentity);
  EXPECT_EQ(d->summary(), "EAP-Request/Identity");
  EapPacket s{EapCode::kSuccess, 9, 0, {}};
  EXPECT_EQ(s.encode(), (ByteVec{3, 9, 0, 4}));
  EXPECT_EQ(EapPacket::decode(s.encode())->summary(), "EAP-Success");
}

TEST(EapCodec, HostilePacketsAreRejected) {
  EXPECT_FALSE(EapPacket::decode(ByteVec{}));
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0}));           // header cut
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0, 4}));        // request without a type
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0, 6, 1}));     // Length beyond the data
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0, 5, 1, 0}));  // bytes after Length
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0, 2, 1}));     // Length below the header
  EXPECT_FALSE(EapPacket::decode(ByteVec{5, 1, 0, 4}));        // unknown code
  EXPECT_FALSE(EapPacket::decode(ByteVec{0, 1, 0, 4}));
  EXPECT_FALSE(EapPacket::decode(ByteVec{3, 1, 0, 5, 0}));  // Success with data
  EXPECT_FALSE(EapPacket::decode(ByteVec{1, 1, 0xFF, 0xFF, 1}));
  // Every truncation of a valid MSCHAPv2 response fails to decode somewhere.
  ResponseData r;
  r.name = "alice";
  ByteVec full =
      makePacket(EapCode::kResponse, 3, Message{OpCode::kResponse, 4, r.encode()}).encode();
  ASSERT_TRUE(EapPacket::decode(full));
  for (size_t n = 0; n < full.size(); ++n) {
    ByteVec cut(full.begin(), full.begin() + long(n));
    auto p = EapPacket::decode(cut);
    if (!p) continue;
    auto m = Message::decode(p->data);
    EXPECT_TRUE(!m || !ResponseData::decode(m->data)) << n;
  }
}

TEST(EapCodec, Mschapv2Messages) {
  ChallengeData c;
  for (size_t i = 0; i < 16; ++i) c.challenge[i] = uint8_t(i);
  c.name = "vpn.example.com";
  Message m{OpCode::kChallenge, 42, c.encode()};
  ByteVec b = m.encode();
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 42);
  EXPECT_EQ(size_t(b[2] << 8 | b[3]), b.size());  // MS-Length counts from the OpCode
  auto d = Message::decode(b);
  ASSERT_TRUE(d);
  auto dc = ChallengeData::decode(d->data);
  ASSERT_TRUE(dc);
  EXPECT_EQ(dc->challenge, c.challenge);
  EXPECT_EQ(dc->name, "vpn.example.com");
  // MS-Length disagreeing with the data, a wrong Value-Size, an unknown op.
  ByteVec bad = b;
  bad[3] ^= 1;
  EXPECT_FALSE(Message::decode(bad));
  ByteVec badSize = c.encode();
  badSize[0] = 15;
  EXPECT_FALSE(ChallengeData::decode(badSize));
  EXPECT_FALSE(Message::decode(ByteVec{9, 1, 0, 4}));
  EXPECT_FALSE(Message::decode(ByteVec{}));
  EXPECT_FALSE(Message::decode(ByteVec{2}));  // only Success/Failure may be the op alone
  auto ack = Message::decode(ByteVec{3});
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->op, OpCode::kSuccess);
  EXPECT_EQ((Message{OpCode::kSuccess, 0, {}}.encode()), ByteVec{3});
  ResponseData r;
  r.flags = 0;
  r.name = "bob";
  for (size_t i = 0; i < 24; ++i) r.ntResponse[i] = uint8_t(100 + i);
  auto dr = ResponseData::decode(r.encode());
  ASSERT_TRUE(dr);
  EXPECT_EQ(dr->ntResponse, r.ntResponse);
  EXPECT_EQ(dr->name, "bob");
}

struct EapMachines : ::testing::Test {
  SeededRandom rnd{7};
  std::shared_ptr<EapUserTable> users = std::make_shared<EapUserTable>();
  void SetUp() override {
    ASSERT_TRUE(users->add({"alice", "staff", *ntPasswordHash("secret one")}));
    ASSERT_FALSE(users->add({"alice", "other", {}}));
  }
  // Runs the conversation; returns the authenticator's final step.
  EapStep run(EapAuthenticator& a, EapPeer& p, int* rounds = nullptr) {
    ByteVec req = a.start();
    for (int i = 0; i < 10; ++i) {
      EapStep ps = p.process(req);
      if (ps.outcome != EapOutcome::kContinue) return {ps.outcome, {}, "peer: " + ps.reason};
      EapStep as = a.process(ps.reply);
      if (rounds) *rounds = i + 1;
      if (as.outcome != EapOutcome::kContinue) {
        EapStep last = p.process(as.reply);  // the peer sees Success or Failure
        EXPECT_EQ(last.outcome, as.outcome);
        return as;
      }
      req = as.reply;
    }
    return {EapOutcome::kFailure, {}, "too many rounds"};
  }
};

TEST_F(EapMachines, SuccessGivesBothTheSameMsk) {
  EapAuthenticator a(users, "gw", rnd);
  EapPeer p("alice", *ntPasswordHash("secret one"), rnd);
  int rounds = 0;
  EapStep s = run(a, p, &rounds);
  ASSERT_EQ(s.outcome, EapOutcome::kSuccess) << s.reason;
  EXPECT_EQ(rounds, 3);  // Identity, Challenge, Success-Request
  EXPECT_EQ(a.identity(), "alice");
  EXPECT_EQ(a.group(), "staff");
  EXPECT_EQ(a.msk().size(), 32u);
  EXPECT_TRUE(std::equal(a.msk().bytes().begin(), a.msk().bytes().end(), p.msk().bytes().begin(),
                         p.msk().bytes().end()));
}

TEST_F(EapMachines, WrongPasswordUnknownUserAndNak) {
  {
    EapAuthenticator a(users, "gw", rnd);
    EapPeer p("alice", *ntPasswordHash("secret two"), rnd);
    EapStep s = run(a, p);
    EXPECT_EQ(s.outcome, EapOutcome::kFailure);
    EXPECT_NE(s.reason.find("wrong password for 'alice'"), std::string::npos) << s.reason;
  }
  {
    EapAuthenticator a(users, "gw", rnd);
    EapPeer p("mallory", *ntPasswordHash("secret one"), rnd);
    EapStep s = run(a, p);
    EXPECT_EQ(s.outcome, EapOutcome::kFailure);
    EXPECT_NE(s.reason.find("unknown EAP identity 'mallory'"), std::string::npos) << s.reason;
  }
  {
    EapAuthenticator a(users, "gw", rnd);
    EapPeer p("alice", *ntPasswordHash("secret one"), rnd, {eap_type::kTls});
    EapStep s = run(a, p);
    EXPECT_EQ(s.outcome, EapOutcome::kFailure);
    EXPECT_NE(s.reason.find("Nak, proposes type 13"), std::string::npos) << s.reason;
  }
}

TEST_F(EapMachines, DomainPrefixFindsTheUser) {
  EapAuthenticator a(users, "gw", rnd);
  EapPeer p("CORP\\alice", *ntPasswordHash("secret one"), rnd);
  EapStep s = run(a, p);
  EXPECT_EQ(s.outcome, EapOutcome::kSuccess) << s.reason;
}

TEST_F(EapMachines, HostileResponsesFail) {
  EapAuthenticator a(users, "gw", rnd);
  ByteVec req = a.start();
  auto id = EapPacket::decode(req)->identifier;
  // A response with another identifier, then anything after a failure.
  EapPacket wrong{EapCode::kResponse, uint8_t(id + 1), eap_type::kIdentity, {'a'}};
  EXPECT_EQ(a.process(wrong.encode()).outcome, EapOutcome::kFailure);
  EapPacket right{EapCode::kResponse, id, eap_type::kIdentity, {'a'}};
  EXPECT_EQ(a.process(right.encode()).outcome, EapOutcome::kFailure);
  EapAuthenticator b(users, "gw", rnd);
  req = b.start();
  id = EapPacket::decode(req)->identifier;
  EXPECT_EQ(b.process(ByteVec{2, id, 0, 5}).outcome, EapOutcome::kFailure);  // truncated
  EapAuthenticator c(users, "gw", rnd);
  req = c.start();
  id = EapPacket::decode(req)->identifier;
  EapPacket empty{EapCode::kResponse, id, eap_type::kIdentity, {}};
  EXPECT_EQ(c.process(empty.encode()).outcome, EapOutcome::kFailure);
  // A peer is not fooled by EAP-Success before the gateway proved the password.
  EapPeer p("alice", *ntPasswordHash("secret one"), rnd);
  EXPECT_EQ(p.process(EapPacket{EapCode::kSuccess, 1, 0, {}}.encode()).outcome,
            EapOutcome::kFailure);
}

}  // namespace
}  // namespace braid::ike

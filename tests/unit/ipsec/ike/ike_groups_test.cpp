// Full two-party exchanges with the key exchange groups that cloud gateways offer: MODP 3072
// and 4096 (groups 15, 16; RFC 3526) and ECP 521 (group 21; RFC 5903), for the IKE SA, for PFS
// on a CREATE_CHILD_SA, and INVALID_KE_PAYLOAD steering to one of them (RFC 7296 1.2, 1.3).
#include "ike_harness.hpp"
#include "ipsec/ike/crypto_dh.hpp"

namespace braid::ike::test {
namespace {

struct GroupCase {
  const char* token;
  DhGroup group;
};

class IkeGroups : public IkeTwoPartyTest, public ::testing::WithParamInterface<GroupCase> {};

// The KE payload the initiator sent in its IKE_SA_INIT request.
const KePayload* keOf(const Message& m) {
  return m.get<KePayload>(PayloadType::kKe);
}

TEST_P(IkeGroups, IkeSaAndChildSaWithTheGroup) {
  const auto [token, group] = GetParam();
  pa.ikeProposals = proposals(std::string("aes256gcm16-prfsha384-") + token, ProtocolId::kIke);
  pb.ikeProposals = proposals(std::string("aes256gcm16-prfsha384-") + token, ProtocolId::kIke);
  start();
  // IKE_SA_INIT request: the KE payload has the group and its length (RFC 7296 3.4).
  ASSERT_EQ(t.a.net.out.size(), 1u);
  Message init;
  ASSERT_FALSE(init.parse(t.a.net.out[0].data));
  const KePayload* ke = keOf(init);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, static_cast<uint16_t>(group));
  EXPECT_EQ(ke->data.size(), dhPublicValueLength(group));
  t.deliver(t.a);
  ASSERT_EQ(t.b.net.out.size(), 1u);
  Message reply;
  ASSERT_FALSE(reply.parse(t.b.net.out[0].data));
  ke = keOf(reply);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, static_cast<uint16_t>(group));
  EXPECT_EQ(ke->data.size(), dhPublicValueLength(group));
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  ASSERT_EQ(t.b.events.childUp.size(), 1u);
  expectPair(t.a.events.childUp[0], t.b.events.childUp[0]);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->suite.dh, group);
  EXPECT_EQ(t.b.mgr->findByPeer("to-a")->suite.dh, group);
  EXPECT_TRUE(log.lines.empty()) << log.lines[0];
}

TEST_P(IkeGroups, ResponderAsksForTheGroupWithInvalidKe) {
  const auto [token, group] = GetParam();
  // a prefers x25519 and guesses it for its KE; b accepts only the cloud group.
  pa.ikeProposals =
      proposals(std::string("aes256gcm16-prfsha256-x25519-") + token, ProtocolId::kIke);
  pb.ikeProposals = proposals(std::string("aes256gcm16-prfsha256-") + token, ProtocolId::kIke);
  start();
  roundTrip();
  EXPECT_EQ(t.b.counters().invalidKeSent, 1u);
  EXPECT_EQ(t.a.counters().invalidKeReceived, 1u);
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 1u);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->suite.dh, group);
}

TEST_P(IkeGroups, PfsGroupOnAdditionalChildSa) {
  const auto [token, group] = GetParam();
  const std::string esp = std::string("aes256gcm16-") + token;
  pa.children.push_back(child("pfs", {ts("10.1.1.0/24")}, {ts("10.2.1.0/24")}, esp));
  pb.children.push_back(child("pfs", {ts("10.2.1.0/24")}, {ts("10.1.1.0/24")}, esp));
  establish();
  // The second Child SA comes up in a CREATE_CHILD_SA with a KE of the group (RFC 7296 1.3).
  ASSERT_TRUE(t.a.mgr->createChild("to-b", "pfs").isOk());
  ASSERT_EQ(t.a.net.out.size(), 1u);
  Message req;
  ASSERT_FALSE(req.parse(t.a.net.out[0].data));
  EXPECT_EQ(req.header.exchange, ExchangeType::kCreateChildSa);
  t.run();
  ASSERT_EQ(t.a.events.childUp.size(), 2u);
  ASSERT_EQ(t.b.events.childUp.size(), 2u);
  expectPair(t.a.events.childUp[1], t.b.events.childUp[1]);
  EXPECT_EQ(t.a.mgr->findByPeer("to-b")->children()[1]->suite.dh, group);
}

INSTANTIATE_TEST_SUITE_P(CloudGroups, IkeGroups,
                         ::testing::Values(GroupCase{"modp3072", DhGroup::kModp3072},
                                           GroupCase{"modp4096", DhGroup::kModp4096},
                                           GroupCase{"ecp521", DhGroup::kEcp521}),
                         [](const auto& info) { return std::string(info.param.token); });

}  // namespace
}  // namespace braid::ike::test

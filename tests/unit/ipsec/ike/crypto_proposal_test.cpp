// Proposal strings, formatting and selection (RFC 7296 3.3, 3.3.6).
#include <gtest/gtest.h>

#include "ipsec/ike/proposal.hpp"

namespace braid::ike {
namespace {

Proposal mustParse(std::string_view text, ProtocolId proto = ProtocolId::kIke) {
  auto p = parseProposal(text, proto);
  EXPECT_TRUE(p) << text << ": " << p.status().message();
  return p ? *p : Proposal{};
}

TEST(IkeProposal, ParsesAeadIke) {
  auto p = mustParse("aes256gcm16-prfsha256-x25519");
  auto s = suiteOf(p);
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(s->encr, EncrId::kAesGcm16);
  EXPECT_EQ(s->encrKeyBits, 256);
  EXPECT_EQ(s->prf, PrfId::kHmacSha256);
  EXPECT_EQ(s->integ, IntegId::kNone);
  EXPECT_EQ(s->dh, DhGroup::kCurve25519);
  EXPECT_FALSE(p.hasType(TransformType::kInteg));
  EXPECT_EQ(formatProposal(p), "aes256gcm16-prfsha256-x25519");
}

TEST(IkeProposal, CbcDefaultsPrfToIntegrityHash) {
  auto p = mustParse("aes128-sha256-modp2048");
  auto s = suiteOf(p);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->encr, EncrId::kAesCbc);
  EXPECT_EQ(s->encrKeyBits, 128);
  EXPECT_EQ(s->integ, IntegId::kHmacSha256_128);
  EXPECT_EQ(s->prf, PrfId::kHmacSha256);
  EXPECT_EQ(s->dh, DhGroup::kModp2048);
  EXPECT_EQ(formatProposal(p), "aes128-sha256-prfsha256-modp2048");
  EXPECT_EQ(*parseProposal(formatProposal(p), ProtocolId::kIke), p);
}

TEST(IkeProposal, ChaChaAndEcp384) {
  auto s = suiteOf(mustParse("chacha20poly1305-prfsha384-ecp384"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->encr, EncrId::kChaCha20Poly1305);
  EXPECT_EQ(s->encrKeyBits, 256);
  EXPECT_EQ(s->prf, PrfId::kHmacSha384);
  EXPECT_EQ(s->dh, DhGroup::kEcp384);
  // No Key Length attribute for ChaCha20-Poly1305 (RFC 7634 2).
  EXPECT_EQ(mustParse("chacha20poly1305-prfsha384-ecp384").transforms[0].keyBits, 0);
}

TEST(IkeProposal, EspStrings) {
  auto gcm = suiteOf(mustParse("aes256gcm16", ProtocolId::kEsp));
  ASSERT_TRUE(gcm);
  EXPECT_EQ(gcm->protocol, ProtocolId::kEsp);
  EXPECT_FALSE(gcm->esn);
  EXPECT_EQ(gcm->dh, DhGroup::kNone);
  auto esn = suiteOf(mustParse("aes128gcm16-esn", ProtocolId::kEsp));
  ASSERT_TRUE(esn);
  EXPECT_TRUE(esn->esn);
  EXPECT_EQ(esn->encrKeyBits, 128);
  auto pfs = suiteOf(mustParse("chacha20poly1305-x25519", ProtocolId::kEsp));
  ASSERT_TRUE(pfs);
  EXPECT_EQ(pfs->dh, DhGroup::kCurve25519);
  EXPECT_EQ(formatProposal(mustParse("aes128gcm16-esn", ProtocolId::kEsp)), "aes128gcm16-esn");
  EXPECT_EQ(formatProposal(mustParse("aes256gcm16", ProtocolId::kEsp)), "aes256gcm16");
  EXPECT_EQ(formatProposal(mustParse("aes256gcm16-esn-noesn", ProtocolId::kEsp)),
            "aes256gcm16-esn-noesn");
}

TEST(IkeProposal, ListsAndAlternatives) {
  auto list = parseProposals("aes256gcm16-prfsha256-x25519, aes128-aes256-sha256-sha384-ecp256",
                             ProtocolId::kIke);
  ASSERT_TRUE(list) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].number, 1);
  EXPECT_EQ((*list)[1].number, 2);
  EXPECT_EQ((*list)[1].ofType(TransformType::kEncr).size(), 2u);
  EXPECT_EQ((*list)[1].ofType(TransformType::kPrf).size(), 2u);  // one per integrity hash
  EXPECT_EQ(formatProposals(*list),
            "aes256gcm16-prfsha256-x25519, aes128-aes256-sha256-sha384-prfsha256-prfsha384-ecp256");
}

TEST(IkeProposal, ErrorsNameTheToken) {
  struct Case {
    const char* text;
    ProtocolId proto;
    const char* needle;
  } cases[] = {
      {"aes256gcm16-prfsha257-x25519", ProtocolId::kIke, "'prfsha257'"},
      {"aes256gcm16-prfsha256", ProtocolId::kIke, "key exchange"},
      {"aes256gcm16-x25519", ProtocolId::kIke, "no PRF"},
      {"aes128-modp2048", ProtocolId::kIke, "no integrity"},
      {"aes256gcm16-sha256-prfsha256-x25519", ProtocolId::kIke, "'sha256'"},
      {"aes256gcm16-aes128-sha256-x25519", ProtocolId::kIke, "mixed"},
      {"aes256gcm16-esn-prfsha256-x25519", ProtocolId::kIke, "'esn'"},
      {"aes256gcm16-prfsha256", ProtocolId::kEsp, "'prfsha256'"},
      {"aes256gcm16--x25519", ProtocolId::kIke, "empty algorithm"},
      {"", ProtocolId::kIke, "empty proposal"},
      {"3des-sha1-modp1024", ProtocolId::kIke, "'3des'"},
  };
  for (const auto& c : cases) {
    auto p = parseProposal(c.text, c.proto);
    ASSERT_FALSE(p) << c.text;
    EXPECT_NE(p.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << p.status().message();
    EXPECT_NE(p.status().message().find("proposal '"), std::string::npos);
  }
  auto list = parseProposals("aes256gcm16-prfsha256-x25519,aes999-sha256-x25519", ProtocolId::kIke);
  ASSERT_FALSE(list);
  EXPECT_NE(list.status().message().find("'aes999'"), std::string::npos);
}

TEST(IkeProposal, SuiteRoundTrip) {
  for (const char* text : {"aes256gcm16-prfsha256-x25519", "aes128-sha512-prfsha384-modp2048",
                           "chacha20poly1305-prfsha512-ecp256"}) {
    auto s = suiteOf(mustParse(text));
    ASSERT_TRUE(s);
    EXPECT_EQ(suiteOf(proposalOf(*s)).value(), *s) << text;
    EXPECT_EQ(formatProposal(proposalOf(*s)), text);
  }
  auto esp = suiteOf(mustParse("aes128gcm16-ecp384-esn", ProtocolId::kEsp));
  ASSERT_TRUE(esp);
  EXPECT_EQ(suiteOf(proposalOf(*esp)).value(), *esp);
}

TEST(IkeProposal, CloudGatewayGroups) {
  // Groups 15, 16 and 21 with strongSwan's names (AWS and Azure offer them).
  const struct {
    const char* token;
    DhGroup group;
  } groups[] = {{"modp3072", DhGroup::kModp3072},
                {"modp4096", DhGroup::kModp4096},
                {"ecp521", DhGroup::kEcp521}};
  for (const auto& g : groups) {
    const std::string ike = std::string("aes256-sha256-prfsha256-") + g.token;
    auto p = mustParse(ike);
    ASSERT_EQ(p.ofType(TransformType::kKe).size(), 1u) << ike;
    EXPECT_EQ(p.ofType(TransformType::kKe)[0].id, static_cast<uint16_t>(g.group));
    EXPECT_EQ(transformName(p.ofType(TransformType::kKe)[0]), g.token);
    auto s = suiteOf(p);
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->dh, g.group);
    EXPECT_EQ(formatProposal(p), ike);
    EXPECT_EQ(formatProposal(proposalOf(*s)), ike);
    // As a PFS group in ESP proposals too.
    auto esp = suiteOf(mustParse(std::string("aes256gcm16-") + g.token, ProtocolId::kEsp));
    ASSERT_TRUE(esp);
    EXPECT_EQ(esp->dh, g.group);
  }
  // A peer offering group 21 among others: selection picks it when we only accept it.
  auto ours = parseProposals("aes256gcm16-prfsha384-ecp521", ProtocolId::kIke);
  auto peers = parseProposals("aes256gcm16-prfsha384-x25519-modp3072-ecp521", ProtocolId::kIke);
  ASSERT_TRUE(ours && peers);
  auto chosen = selectProposal(*ours, *peers);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(suiteOf(*chosen)->dh, DhGroup::kEcp521);
  // Neighbours that braid does not implement stay unknown (MODP 6144 is group 17).
  EXPECT_FALSE(parseProposal("aes256gcm16-prfsha256-modp6144", ProtocolId::kIke));
  EXPECT_FALSE(parseProposal("aes256gcm16-prfsha256-ecp512", ProtocolId::kIke));
  Proposal unknown = mustParse("aes256gcm16-prfsha256-ecp521");
  unknown.transforms.back().id = 17;
  EXPECT_FALSE(suiteOf(unknown));
}

TEST(IkeProposal, SuiteOfRejectsMultiples) {
  auto p = mustParse("aes128-aes256-sha256-x25519");
  auto s = suiteOf(p);
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("more than one encryption"), std::string::npos);
  Proposal bad = mustParse("aes128-sha256-x25519");
  bad.transforms[0].keyBits = 192;
  EXPECT_FALSE(suiteOf(bad));
}

std::vector<Proposal> list(std::string_view text, ProtocolId proto = ProtocolId::kIke) {
  auto l = parseProposals(text, proto);
  EXPECT_TRUE(l) << l.status().message();
  return l ? *l : std::vector<Proposal>{};
}

TEST(IkeProposalSelection, PicksPeersFirstAcceptable) {
  auto ours = list("aes128-sha256-modp2048,aes256gcm16-prfsha256-x25519");
  auto peers = list("chacha20poly1305-prfsha256-x25519,aes256gcm16-prfsha384-prfsha256-x25519");
  peers[1].number = 7;
  auto chosen = selectProposal(ours, peers);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->number, 7);
  EXPECT_EQ(formatProposal(*chosen), "aes256gcm16-prfsha256-x25519");
  EXPECT_TRUE(suiteOf(*chosen));
}

TEST(IkeProposalSelection, OrderWithinTypes) {
  auto ours = list("aes128-aes256-sha256-sha512-x25519-ecp256");
  auto peers = list("aes256-aes128-sha512-sha256-ecp256-x25519");
  auto peerFirst = selectProposal(ours, peers, SelectionOrder::kPeerFirst);
  ASSERT_TRUE(peerFirst);
  EXPECT_EQ(formatProposal(*peerFirst), "aes256-sha512-prfsha512-ecp256");
  auto oursFirst = selectProposal(ours, peers, SelectionOrder::kOursFirst);
  ASSERT_TRUE(oursFirst);
  EXPECT_EQ(formatProposal(*oursFirst), "aes128-sha256-prfsha256-x25519");
}

TEST(IkeProposalSelection, KeysSpiAndNoMatch) {
  auto ours = list("aes128gcm16-esn", ProtocolId::kEsp);
  auto peers = list("aes256gcm16-esn,aes128gcm16-noesn", ProtocolId::kEsp);
  peers[1].spi = {0xde, 0xad, 0xbe, 0xef};
  // Key length matters: aes256gcm16 does not match aes128gcm16; ESN must agree.
  EXPECT_FALSE(selectProposal(ours, peers));
  auto ours2 = list("aes128gcm16-esn-noesn", ProtocolId::kEsp);
  auto chosen = selectProposal(ours2, peers);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->number, 2);
  EXPECT_EQ(chosen->spi, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_FALSE(suiteOf(*chosen)->esn);
  // Protocols never cross.
  EXPECT_FALSE(
      selectProposal(list("aes128gcm16-prfsha256-x25519"), list("aes128gcm16", ProtocolId::kEsp)));
}

TEST(IkeProposalSelection, EspPfsGroup) {
  auto withPfs = list("aes256gcm16-x25519", ProtocolId::kEsp);
  auto withoutPfs = list("aes256gcm16", ProtocolId::kEsp);
  EXPECT_FALSE(selectProposal(withPfs, withoutPfs));
  EXPECT_FALSE(selectProposal(withoutPfs, withPfs));
  // A peer that offers the group or NONE matches both kinds of local config.
  Proposal peer = withPfs[0];
  peer.transforms.push_back({TransformType::kKe, 0, 0});
  auto a = selectProposal(withoutPfs, std::vector{peer});
  ASSERT_TRUE(a);
  EXPECT_EQ(suiteOf(*a)->dh, DhGroup::kNone);
  auto b = selectProposal(withPfs, std::vector{peer});
  ASSERT_TRUE(b);
  EXPECT_EQ(suiteOf(*b)->dh, DhGroup::kCurve25519);
}

TEST(IkeProposalSelection, PeerSendsExplicitIntegNoneWithAead) {
  auto ours = list("aes256gcm16-prfsha256-ecp256");
  Proposal peer = ours[0];
  peer.transforms.push_back({TransformType::kInteg, 0, 0});
  auto chosen = selectProposal(ours, std::vector{peer});
  ASSERT_TRUE(chosen);
  EXPECT_TRUE(suiteOf(*chosen));
}

TEST(IkeProposalSelection, InitiatorChecksReply) {
  auto ours = list("aes256gcm16-prfsha256-x25519,aes128-sha256-modp2048");
  auto reply = mustParse("aes128-sha256-modp2048");
  reply.number = 2;
  auto suite = checkSelectedProposal(ours, reply);
  ASSERT_TRUE(suite) << suite.status().message();
  EXPECT_EQ(suite->dh, DhGroup::kModp2048);
  auto notOffered = checkSelectedProposal(ours, mustParse("aes256-sha256-modp2048"));
  ASSERT_FALSE(notOffered);
  EXPECT_NE(notOffered.status().message().find("did not offer"), std::string::npos);
  EXPECT_FALSE(checkSelectedProposal(ours, mustParse("aes128-sha256-sha384-modp2048")));
}

}  // namespace
}  // namespace braid::ike

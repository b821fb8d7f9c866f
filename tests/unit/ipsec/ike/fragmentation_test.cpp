// RFC 7383 fragmentation core: split/reassemble round trips, every arrival order, duplicates,
// forged fragments, the time and memory bounds and Total Fragments changes (2.5, 2.6).
#include "ipsec/ike/fragmentation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace braid::ike {
namespace {

struct CipherCase {
  const char* proposal;
  size_t encrKey, integKey;
};

std::unique_ptr<IkeCipher> makeCipher(const CipherCase& c) {
  auto p = parseProposal(c.proposal, ProtocolId::kIke);
  EXPECT_TRUE(p) << p.status().message();
  auto s = suiteOf(*p);
  EXPECT_TRUE(s) << s.status().message();
  ByteVec ek(c.encrKey, 0x11), ik(c.integKey, 0x22);
  auto cipher = IkeCipher::create(*s, ek, ik);
  EXPECT_TRUE(cipher) << cipher.status().message();
  return std::move(cipher.value());
}

const CipherCase kGcm{"aes256gcm16-prfsha256-x25519", 36, 0};
const CipherCase kCbc{"aes128-sha256-prfsha256-modp2048", 16, 32};

// An IKE_AUTH request whose inner chain is about `bytes` long: notifies of varied sizes.
Message bigMessage(size_t bytes, uint32_t id = 1, bool response = false) {
  Message m(ExchangeType::kIkeAuth, response, id);
  m.header.spiI = 0x1122334455667788;
  m.header.spiR = 0x99aabbccddeeff00;
  m.header.flags |= kFlagInitiator;
  uint8_t fill = 1;
  size_t left = bytes;
  while (left > 8) {
    size_t n = std::min<size_t>(left - 8, 300 + fill * 37 % 500);
    m.addNotify(static_cast<uint16_t>(40000 + fill), ByteVec(n, fill));
    left -= n + 8;
    ++fill;
  }
  return m;
}

std::vector<ByteVec> split(const Message& m, IkeCipher& c, size_t limit) {
  auto out = fragmentMessage(m, c, limit);
  EXPECT_TRUE(out) << out.status().message();
  return out ? std::move(out.value()) : std::vector<ByteVec>{};
}

struct Offer {
  Reassembler::Verdict verdict;
  Message message;
};

Offer offer(Reassembler& r, const IkeCipher& c, Bytes datagram, TimePoint now, IkeCounters& n) {
  Offer o{Reassembler::Verdict::kDropped, {}};
  auto e = o.message.parse(datagram);
  EXPECT_FALSE(e) << e->reason;
  EXPECT_TRUE(o.message.isFragment());
  std::optional<DecodeError> err;
  o.verdict = r.offer(o.message, c, now, n, err);
  EXPECT_FALSE(err) << err->reason;
  return o;
}

void expectSamePayloads(const Message& got, const Message& want) {
  ASSERT_EQ(got.payloads.size(), want.payloads.size());
  for (size_t i = 0; i < got.payloads.size(); ++i) {
    const auto* g = std::get_if<NotifyPayload>(&got.payloads[i].body);
    const auto* w = std::get_if<NotifyPayload>(&want.payloads[i].body);
    ASSERT_TRUE(g && w);
    EXPECT_EQ(g->notifyType, w->notifyType);
    EXPECT_EQ(g->data, w->data);
  }
  EXPECT_EQ(got.header.messageId, want.header.messageId);
  EXPECT_TRUE(got.hasSk());
  EXPECT_FALSE(got.isFragment());
}

// A hand-made SKF datagram (numbering the encoder would never produce), validly protected.
ByteVec craft(IkeCipher& c, const Message& like, uint16_t number, uint16_t total, Bytes plain) {
  const size_t body = c.encryptedLength(plain.size());
  ByteVec d(kIkeHeaderLength + 8 + body);
  ByteWriter w(d);
  EXPECT_TRUE(writeIkeHeader(w, like.header, PayloadType::kSkf) && w.writeU8(41) && w.writeU8(0) &&
              w.writeU16(static_cast<uint16_t>(8 + body)) && w.writeU16(number) &&
              w.writeU16(total));
  storeBe32(d.data() + 24, static_cast<uint32_t>(d.size()));
  EXPECT_TRUE(c.encrypt(Bytes(d).first(kIkeHeaderLength + 8), plain,
                        MutableBytes(d.data() + kIkeHeaderLength + 8, body)));
  return d;
}

class FragmentRoundTrip : public ::testing::TestWithParam<std::tuple<CipherCase, size_t>> {};

TEST_P(FragmentRoundTrip, SplitsWithinTheLimitAndReassembles) {
  auto [cc, limit] = GetParam();
  auto cipher = makeCipher(cc);
  for (size_t bytes : {100, 1000, 2999, 8000}) {
    const Message m = bigMessage(bytes);
    const auto frags = split(m, *cipher, limit);
    ASSERT_FALSE(frags.empty());
    auto chain = m.encodeChain();
    const bool fits = kIkeHeaderLength + 4 + cipher->encryptedLength(chain->size()) <= limit;
    if (fits) {
      // Small enough: one ordinary SK message, no SKF.
      ASSERT_EQ(frags.size(), 1u);
      EXPECT_EQ(frags[0][16], kPayloadTypeSk);
      continue;
    }
    ASSERT_GT(frags.size(), 1u) << bytes;
    for (size_t i = 0; i < frags.size(); ++i) {
      EXPECT_LE(frags[i].size(), limit);
      EXPECT_EQ(frags[i][16], kPayloadTypeSkf);
      // 2.5: only the first names the first inner payload (Notify, 41).
      EXPECT_EQ(frags[i][kIkeHeaderLength], i == 0 ? 41 : 0);
      EXPECT_EQ(loadBe16(frags[i].data() + 32), i + 1);
      EXPECT_EQ(loadBe16(frags[i].data() + 34), frags.size());
    }
    // All but the last are full: the split uses all the room there is.
    EXPECT_GT(frags[0].size() + cipher->blockSize() + 1, limit);
    Reassembler r;
    IkeCounters n;
    ManualClock clock;
    for (size_t i = 0; i < frags.size(); ++i) {
      Offer o = offer(r, *cipher, frags[i], clock.now(), n);
      if (i + 1 < frags.size()) {
        EXPECT_EQ(o.verdict, Reassembler::Verdict::kStored);
        EXPECT_EQ(r.storedFragments(false), i + 1);
      } else {
        ASSERT_EQ(o.verdict, Reassembler::Verdict::kComplete);
        expectSamePayloads(o.message, m);
        // The whole message keeps the first fragment's bytes (retransmission detection).
        EXPECT_TRUE(std::ranges::equal(o.message.raw(), frags[0]));
      }
    }
    EXPECT_EQ(n.fragmentsReceived, frags.size());
    EXPECT_EQ(n.messagesReassembled, 1u);
    EXPECT_FALSE(r.pending(false));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, FragmentRoundTrip,
                         ::testing::Combine(::testing::Values(kGcm, kCbc),
                                            ::testing::Values(size_t{200}, size_t{548},
                                                              size_t{1252})),
                         [](const auto& info) {
                           // Stable names for ctest (not the bytes of the struct).
                           const CipherCase& c = std::get<0>(info.param);
                           return std::string(c.integKey == 0 ? "gcm_" : "cbc_") +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(Fragmentation, MessageLimit) {
  EXPECT_EQ(ikeMessageLimit(576, false, false), 548u);
  EXPECT_EQ(ikeMessageLimit(576, false, true), 544u);
  EXPECT_EQ(ikeMessageLimit(1280, true, true), 1228u);
  EXPECT_EQ(ikeMessageLimit(20, false, false), 0u);
}

TEST(Fragmentation, TooSmallALimitIsAnError) {
  auto cipher = makeCipher(kGcm);
  EXPECT_FALSE(fragmentMessage(bigMessage(2000), *cipher, 60));
}

TEST(Fragmentation, EveryOrderCompletesOnTheLastFragment) {
  auto cipher = makeCipher(kGcm);
  const Message m = bigMessage(1200);
  const auto frags = split(m, *cipher, 548);
  ASSERT_EQ(frags.size(), 3u);
  std::vector<size_t> order(frags.size());
  std::iota(order.begin(), order.end(), 0);
  size_t permutations = 0;
  do {
    Reassembler r;
    IkeCounters n;
    ManualClock clock;
    for (size_t k = 0; k < order.size(); ++k) {
      Offer o = offer(r, *cipher, frags[order[k]], clock.now(), n);
      if (k + 1 < order.size()) {
        EXPECT_EQ(o.verdict, Reassembler::Verdict::kStored);
      } else {
        ASSERT_EQ(o.verdict, Reassembler::Verdict::kComplete);
        expectSamePayloads(o.message, m);
      }
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 6u);
}

TEST(Fragmentation, DuplicatesAreIgnored) {
  auto cipher = makeCipher(kCbc);
  const Message m = bigMessage(2000);
  const auto frags = split(m, *cipher, 548);
  ASSERT_GE(frags.size(), 4u);
  Reassembler r;
  IkeCounters n;
  ManualClock clock;
  EXPECT_EQ(offer(r, *cipher, frags[1], clock.now(), n).verdict, Reassembler::Verdict::kStored);
  EXPECT_EQ(offer(r, *cipher, frags[1], clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  EXPECT_EQ(n.dropsFragmentDuplicate, 1u);
  EXPECT_EQ(r.storedFragments(false), 1u);
  Offer last{};
  for (size_t i = 0; i < frags.size(); ++i) {
    if (i != 1) last = offer(r, *cipher, frags[i], clock.now(), n);
  }
  ASSERT_EQ(last.verdict, Reassembler::Verdict::kComplete);
  expectSamePayloads(last.message, m);
  // After completion the set is gone; a late duplicate starts nothing the caller would
  // process twice (the task manager answers it from its cache or drops it by message ID).
  EXPECT_FALSE(r.pending(false));
}

TEST(Fragmentation, ForgedFragmentChangesNothing) {
  auto cipher = makeCipher(kGcm);
  const Message m = bigMessage(2000);
  const auto frags = split(m, *cipher, 548);
  ASSERT_GE(frags.size(), 4u);
  Reassembler r;
  IkeCounters n;
  ManualClock clock;
  ASSERT_EQ(offer(r, *cipher, frags[0], clock.now(), n).verdict, Reassembler::Verdict::kStored);
  const size_t bytesBefore = r.storedBytes(false);
  // A flipped ciphertext bit, and a copy claiming a higher Total Fragments (which, if
  // believed, would discard the set: 2.6), both fail the ICV.
  ByteVec flipped = frags[2];
  flipped[50] ^= 0x01;
  ByteVec bigger = frags[2];
  storeBe16(bigger.data() + 34, static_cast<uint16_t>(frags.size() + 5));
  for (const ByteVec* bad : {&flipped, &bigger}) {
    EXPECT_EQ(offer(r, *cipher, *bad, clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  }
  EXPECT_EQ(n.dropsIntegrity, 2u);
  EXPECT_EQ(r.storedFragments(false), 1u);
  EXPECT_EQ(r.storedBytes(false), bytesBefore);
  // Another key altogether: the same.
  ByteVec key(36, 0x33);
  auto p = parseProposal(kGcm.proposal, ProtocolId::kIke);
  auto wrong = IkeCipher::create(*suiteOf(*p), key, {});
  ASSERT_TRUE(wrong);
  const auto forged = split(m, **wrong, 548);
  EXPECT_EQ(offer(r, *cipher, forged[1], clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  EXPECT_EQ(n.dropsIntegrity, 3u);
  // The genuine fragments still complete the message.
  Offer last{};
  for (size_t i = 1; i < frags.size(); ++i) last = offer(r, *cipher, frags[i], clock.now(), n);
  ASSERT_EQ(last.verdict, Reassembler::Verdict::kComplete);
  expectSamePayloads(last.message, m);
}

TEST(Fragmentation, BadNumberingIsDropped) {
  auto cipher = makeCipher(kGcm);
  const Message m = bigMessage(100);
  const ByteVec plain(40, 0);
  Reassembler r;
  IkeCounters n;
  ManualClock clock;
  for (auto [num, total] : {std::pair<uint16_t, uint16_t>{0, 3}, {4, 3}, {1, 0}}) {
    ByteVec d = craft(*cipher, m, num, total, plain);
    EXPECT_EQ(offer(r, *cipher, d, clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  }
  EXPECT_EQ(n.dropsFragmentInvalid, 3u);
  EXPECT_FALSE(r.pending(false));
}

TEST(Fragmentation, IncompleteSetTimesOut) {
  auto cipher = makeCipher(kGcm);
  const Message m = bigMessage(1200);
  const auto frags = split(m, *cipher, 548);
  ASSERT_EQ(frags.size(), 3u);
  Reassembler r({.maxFragments = 64, .maxBytes = 65536, .timeout = std::chrono::seconds(30)});
  IkeCounters n;
  ManualClock clock;
  offer(r, *cipher, frags[0], clock.now(), n);
  clock.advance(std::chrono::seconds(20));
  offer(r, *cipher, frags[1], clock.now(), n);
  clock.advance(std::chrono::seconds(11));  // 31 s after the set started
  Offer o = offer(r, *cipher, frags[2], clock.now(), n);
  EXPECT_EQ(o.verdict, Reassembler::Verdict::kStored);  // a new set, with fragment 3 only
  EXPECT_EQ(n.dropsFragmentTimeout, 2u);
  EXPECT_EQ(r.storedFragments(false), 1u);
  // The sender's retransmission fills it again.
  offer(r, *cipher, frags[0], clock.now(), n);
  o = offer(r, *cipher, frags[1], clock.now(), n);
  ASSERT_EQ(o.verdict, Reassembler::Verdict::kComplete);
  expectSamePayloads(o.message, m);
}

TEST(Fragmentation, MemoryIsBounded) {
  auto cipher = makeCipher(kGcm);
  const Message m = bigMessage(4000);
  const auto frags = split(m, *cipher, 548);
  ASSERT_GE(frags.size(), 8u);
  IkeCounters n;
  ManualClock clock;
  // Too many fragments: dropped before any crypto or storage.
  Reassembler few({.maxFragments = 4, .maxBytes = 65536, .timeout = std::chrono::seconds(30)});
  EXPECT_EQ(offer(few, *cipher, frags[0], clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  EXPECT_EQ(n.dropsFragmentLimit, 1u);
  EXPECT_FALSE(few.pending(false));
  // Too many bytes: the set goes once it would exceed the bound.
  Reassembler small({.maxFragments = 64, .maxBytes = 1500, .timeout = std::chrono::seconds(30)});
  size_t dropped = 0;
  for (const auto& f : frags) {
    auto v = offer(small, *cipher, f, clock.now(), n).verdict;
    EXPECT_NE(v, Reassembler::Verdict::kComplete);
    dropped += v == Reassembler::Verdict::kDropped;
    EXPECT_LE(small.storedBytes(false), 1500u);
  }
  EXPECT_GE(dropped, 1u);
  EXPECT_EQ(n.messagesReassembled, 0u);
}

TEST(Fragmentation, TotalFragmentsChange) {
  auto cipher = makeCipher(kCbc);
  const Message m = bigMessage(2500);
  const auto coarse = split(m, *cipher, 1252);
  const auto fine = split(m, *cipher, 548);
  ASSERT_LT(coarse.size(), fine.size());
  Reassembler r;
  IkeCounters n;
  ManualClock clock;
  offer(r, *cipher, coarse[0], clock.now(), n);
  ASSERT_EQ(r.storedFragments(false), 1u);
  // 2.6: a higher Total Fragments (the sender split again, smaller) discards the old set.
  offer(r, *cipher, fine[1], clock.now(), n);
  EXPECT_EQ(r.storedFragments(false), 1u);
  // A fragment of the old, smaller split is ignored from now on.
  EXPECT_EQ(offer(r, *cipher, coarse[1], clock.now(), n).verdict, Reassembler::Verdict::kDropped);
  EXPECT_EQ(n.dropsFragmentStale, 1u);
  Offer last{};
  for (size_t i = 0; i < fine.size(); ++i) {
    if (i != 1) last = offer(r, *cipher, fine[i], clock.now(), n);
  }
  ASSERT_EQ(last.verdict, Reassembler::Verdict::kComplete);
  expectSamePayloads(last.message, m);
}

TEST(Fragmentation, RequestsAndResponsesAreKeptApart) {
  auto cipher = makeCipher(kGcm);
  const Message req = bigMessage(1200, 2, false);
  const Message resp = bigMessage(1200, 7, true);
  const auto rq = split(req, *cipher, 548), rs = split(resp, *cipher, 548);
  Reassembler r;
  IkeCounters n;
  ManualClock clock;
  offer(r, *cipher, rq[0], clock.now(), n);
  offer(r, *cipher, rs[0], clock.now(), n);
  EXPECT_EQ(r.storedFragments(false), 1u);
  EXPECT_EQ(r.storedFragments(true), 1u);
  Offer a{}, b{};
  for (size_t i = 1; i < rq.size(); ++i) a = offer(r, *cipher, rq[i], clock.now(), n);
  for (size_t i = 1; i < rs.size(); ++i) b = offer(r, *cipher, rs[i], clock.now(), n);
  ASSERT_EQ(a.verdict, Reassembler::Verdict::kComplete);
  ASSERT_EQ(b.verdict, Reassembler::Verdict::kComplete);
  expectSamePayloads(a.message, req);
  expectSamePayloads(b.message, resp);
  EXPECT_TRUE(b.message.header.response());
}

}  // namespace
}  // namespace braid::ike

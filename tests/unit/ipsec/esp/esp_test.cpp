// Behaviour of EspOutboundSa / EspInboundSa / EspInboundTable on packets built by braid
// itself and by the reference sealer in esp_test_support.hpp.
#include <gtest/gtest.h>

#include <tuple>

#include "esp_test_support.hpp"

namespace braid::ipsec {
namespace {

using testing_support::contents;
using testing_support::innerPacket;
using testing_support::load;
using testing_support::makeIn;
using testing_support::makeOut;
using testing_support::referenceSeal;
using testing_support::testConfig;

constexpr EspCipher kAllCiphers[] = {EspCipher::kAesGcm16_128, EspCipher::kAesGcm16_256,
                                     EspCipher::kChaCha20Poly1305};

size_t dropCount(const EspCounters& c) {
  size_t n = 0;
  for (uint64_t d : c.drops) n += d;
  return n;
}

class EspSaTest : public ::testing::TestWithParam<std::tuple<EspCipher, bool>> {
 protected:
  EspCipher cipher() const { return std::get<0>(GetParam()); }
  bool esn() const { return std::get<1>(GetParam()); }
  EspSaConfig config() const { return testConfig(cipher(), esn()); }

  void SetUp() override {
    out_ = makeOut(config());
    in_ = makeIn(config());
    ASSERT_NE(out_, nullptr);
    ASSERT_NE(in_, nullptr);
  }

  // Seals `inner` and returns the wire bytes.
  std::vector<uint8_t> seal(const std::vector<uint8_t>& inner, uint8_t nh = kNextHeaderIpv4) {
    auto pkt = pool_.acquire();
    EXPECT_TRUE(load(*pkt, inner));
    EXPECT_EQ(out_->seal(*pkt, nh), SealStatus::kOk);
    return contents(*pkt);
  }
  std::optional<EspDrop> open(const std::vector<uint8_t>& wire, uint8_t& nh,
                              std::vector<uint8_t>* inner = nullptr) {
    auto pkt = pool_.acquire();
    EXPECT_TRUE(load(*pkt, wire));
    auto r = in_->open(*pkt, nh);
    if (inner != nullptr) *inner = contents(*pkt);
    return r;
  }

  PacketPool pool_{4, 2048 + 128, 64};
  std::unique_ptr<EspOutboundSa> out_;
  std::unique_ptr<EspInboundSa> in_;
};

TEST_P(EspSaTest, RoundTripAtManySizes) {
  uint64_t bytes = 0;
  size_t count = 0;
  for (size_t n : {0, 1, 2, 3, 4, 5, 20, 63, 64, 65, 576, 1399, 1400, 1500, 2000}) {
    auto inner = innerPacket(n, static_cast<uint8_t>(n));
    auto wire = seal(inner);
    // RFC 4303 2.4: ciphertext ends on a 4-byte boundary; header + IV + ICV around it.
    EXPECT_EQ((wire.size() - kEspHeadroom - kEspIcvLength) % 4, 0u);
    EXPECT_LE(wire.size(), n + kEspHeadroom + kEspMaxTrailer);
    EXPECT_EQ(loadBe32(wire.data()), 0x1000abcdu);
    EXPECT_EQ(loadBe32(wire.data() + 4), count + 1);  // sequence number
    EXPECT_EQ(loadBe64(wire.data() + 8), count + 1);  // explicit IV = sequence number
    uint8_t nh = 0;
    std::vector<uint8_t> got;
    auto drop = open(wire, nh, &got);
    ASSERT_FALSE(drop.has_value()) << n << " " << espDropName(*drop);
    EXPECT_EQ(nh, kNextHeaderIpv4);
    EXPECT_EQ(got, inner) << n;
    bytes += n;
    ++count;
  }
  EXPECT_EQ(out_->counters().packetsSealed, count);
  EXPECT_EQ(out_->counters().bytesSealed, bytes);
  EXPECT_EQ(in_->counters().packetsOpened, count);
  EXPECT_EQ(in_->counters().bytesOpened, bytes);
  EXPECT_EQ(dropCount(in_->counters()), 0u);
}

TEST_P(EspSaTest, SealMatchesReferenceAcrossContextReuse) {
  // The cipher context is keyed once; every packet only sets a new nonce. Compare many
  // consecutive packets with a sealer that keys a fresh context each time.
  auto keymat = config().keymat;
  for (size_t i = 0; i < 300; ++i) {
    auto inner = innerPacket(i % 41 + (i % 7) * 100, static_cast<uint8_t>(i));
    const size_t pad = (4 - (inner.size() + 2) % 4) % 4;
    std::vector<uint8_t> pt = inner;
    for (size_t k = 0; k < pad; ++k) pt.push_back(static_cast<uint8_t>(k + 1));
    pt.push_back(static_cast<uint8_t>(pad));
    pt.push_back(kNextHeaderIpv6);
    const uint64_t seq = out_->lastSequence() + 1;
    auto ref = referenceSeal(cipher(), keymat.bytes(), 0x1000abcd, seq, esn(), seq, pt);
    ASSERT_EQ(toHex(seal(inner, kNextHeaderIpv6)), toHex(ref)) << i;
  }
}

TEST_P(EspSaTest, EveryTamperedBitFailsTheIcv) {
  out_->setLastSequence(1000);  // so that no flipped sequence bit gives the invalid 0
  auto wire = seal(innerPacket(40));
  uint8_t nh = 0;
  for (size_t byte = 4; byte < wire.size(); ++byte) {
    for (int bit = 0; bit < 8; bit += 3) {
      auto bad = wire;
      bad[byte] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_EQ(open(bad, nh), EspDrop::kIcv) << byte << ":" << bit;
    }
  }
  // Failed packets did not move the window: the genuine packet still opens, once.
  EXPECT_FALSE(open(wire, nh).has_value());
  EXPECT_EQ(open(wire, nh), EspDrop::kReplay);
  EXPECT_EQ(in_->counters().packetsOpened, 1u);
  EXPECT_EQ(in_->counters().drop(EspDrop::kReplay), 1u);
  EXPECT_EQ(in_->counters().drop(EspDrop::kIcv), dropCount(in_->counters()) - 1);
}

TEST_P(EspSaTest, WrongSpiIsCountedByTheSa) {
  auto wire = seal(innerPacket(100));
  wire[3] ^= 1;
  uint8_t nh = 0;
  EXPECT_EQ(open(wire, nh), EspDrop::kBadSpi);
  EXPECT_EQ(in_->counters().drop(EspDrop::kBadSpi), 1u);
}

TEST_P(EspSaTest, TruncatedAtEveryLength) {
  auto wire = seal(innerPacket(61));
  uint8_t nh = 0;
  for (size_t len = 0; len < wire.size(); ++len) {
    std::vector<uint8_t> cut(wire.begin(), wire.begin() + len);
    auto drop = open(cut, nh);
    ASSERT_TRUE(drop.has_value()) << len;
    // Header + IV + pad length + next header + ICV is the smallest possible ESP packet.
    EXPECT_EQ(*drop, len < kEspHeadroom + 2 + kEspIcvLength ? EspDrop::kTooShort : EspDrop::kIcv)
        << len;
  }
  EXPECT_EQ(dropCount(in_->counters()), wire.size());
  EXPECT_FALSE(open(wire, nh).has_value());
}

TEST_P(EspSaTest, PaddingIsChecked) {
  auto keymat = config().keymat;
  auto inner = innerPacket(30);
  auto sealCustom = [&](uint64_t seq, std::vector<uint8_t> trailer) {
    std::vector<uint8_t> pt = inner;
    pt.insert(pt.end(), trailer.begin(), trailer.end());
    return referenceSeal(cipher(), keymat.bytes(), 0x1000abcd, seq, esn(), seq, pt);
  };
  uint8_t nh = 0;
  std::vector<uint8_t> got;
  // RFC 4303 2.4: pad bytes must be 1, 2, 3, ...
  EXPECT_EQ(open(sealCustom(1, {1, 3, 2, 4}), nh), EspDrop::kPadding);
  EXPECT_EQ(open(sealCustom(2, {0, 0, 2, 4}), nh), EspDrop::kPadding);
  EXPECT_EQ(open(sealCustom(3, {1, 2, 3, 4, 5, 7, 6, 4}), nh), EspDrop::kPadding);
  // A pad length reaching beyond the payload.
  EXPECT_EQ(open(sealCustom(4, {1, 2, 200, 4}), nh), EspDrop::kTooShort);
  EXPECT_EQ(in_->counters().drop(EspDrop::kPadding), 3u);
  EXPECT_EQ(in_->counters().drop(EspDrop::kTooShort), 1u);
  // Longer than necessary but well-formed padding is accepted (up to 255 bytes).
  std::vector<uint8_t> longPad;
  for (int i = 1; i <= 254; ++i) longPad.push_back(static_cast<uint8_t>(i));
  longPad.push_back(254);
  longPad.push_back(kNextHeaderIpv6);
  ASSERT_FALSE(open(sealCustom(5, longPad), nh, &got).has_value());
  EXPECT_EQ(got, inner);
  EXPECT_EQ(nh, kNextHeaderIpv6);
  // No padding at all (payload already aligned) is accepted too.
  ASSERT_FALSE(open(sealCustom(6, {0, kNextHeaderIpv4}), nh, &got).has_value());
  EXPECT_EQ(got, inner);
  // The authenticated packets with bad padding still used up their sequence numbers.
  EXPECT_EQ(open(sealCustom(1, {1, 2, 2, 4}), nh), EspDrop::kReplay);
}

TEST_P(EspSaTest, ReplayAndWindowEdge) {
  std::vector<std::vector<uint8_t>> wires;
  for (int i = 0; i < 2000; ++i) wires.push_back(seal(innerPacket(8, static_cast<uint8_t>(i))));
  uint8_t nh = 0;
  // Deliver 2000 (seq) first, then the ones at the left edge of the 1024 window.
  EXPECT_FALSE(open(wires[1999], nh).has_value());
  EXPECT_EQ(open(wires[1999], nh), EspDrop::kReplay);
  // seq 976 is just outside. With ESN, RFC 4303 A2.2 reads it as 2^32 + 976, whose ICV
  // does not verify (the high half is authenticated); without, it is a replay.
  EXPECT_EQ(open(wires[2000 - 1024 - 1], nh), esn() ? EspDrop::kIcv : EspDrop::kReplay);
  EXPECT_FALSE(open(wires[2000 - 1024], nh).has_value());  // seq 977: oldest inside
  EXPECT_EQ(open(wires[2000 - 1024], nh), EspDrop::kReplay);
  // Reordered packets inside the window are accepted once each.
  uint64_t reordered = 0;
  for (int i = 1998; i > 1500; i -= 3, ++reordered) {
    EXPECT_FALSE(open(wires[i], nh).has_value()) << i;
  }
  for (int i = 1998; i > 1500; i -= 3) EXPECT_EQ(open(wires[i], nh), EspDrop::kReplay) << i;
  EXPECT_EQ(in_->counters().drop(EspDrop::kReplay), (esn() ? 2u : 3u) + reordered);
  EXPECT_EQ(in_->counters().packetsOpened, 2u + reordered);
}

TEST_P(EspSaTest, NextHeadersPassThroughAndDummyIsDiscarded) {
  uint8_t nh = 0;
  std::vector<uint8_t> got;
  for (uint8_t value : {kNextHeaderIpv4, kNextHeaderIpv6, uint8_t{253}, uint8_t{0}}) {
    auto inner = innerPacket(33, value);
    ASSERT_FALSE(open(seal(inner, value), nh, &got).has_value());
    EXPECT_EQ(nh, value);
    EXPECT_EQ(got, inner);
  }
  EXPECT_EQ(in_->counters().packetsOpened, 4u);
  // RFC 4303 2.6: next header 59 is a dummy packet, returned for the caller to discard.
  ASSERT_FALSE(open(seal(innerPacket(17), kNextHeaderDummy), nh).has_value());
  EXPECT_EQ(nh, kNextHeaderDummy);
  EXPECT_EQ(in_->counters().dummyDiscarded, 1u);
  EXPECT_EQ(in_->counters().packetsOpened, 4u);
}

TEST_P(EspSaTest, SequenceLimitRefusesWithoutMovingTheCounter) {
  out_->setLastSequence(99);
  out_->setSequenceLimit(100);
  auto pkt = pool_.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(50)));
  ASSERT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);  // 100 is reserved
  EXPECT_EQ(out_->lastSequence(), 100u);
  ASSERT_TRUE(pkt->assign(innerPacket(50)));
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kSequenceLimit);
  EXPECT_EQ(contents(*pkt), innerPacket(50));
  EXPECT_EQ(out_->lastSequence(), 100u);
  EXPECT_EQ(out_->counters().sequenceExhausted, 0u);  // not the end of the SA
  out_->setSequenceLimit(101);
  ASSERT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
  EXPECT_EQ(out_->lastSequence(), 101u);
  // A limit beyond the sequence space is clamped to it: the end is still exhaustion.
  out_->setSequenceLimit(UINT64_MAX);
  out_->setLastSequence(esn() ? UINT64_MAX : UINT32_MAX);
  ASSERT_TRUE(pkt->assign(innerPacket(50)));
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kSequenceExhausted);
}

TEST_P(EspSaTest, SequenceExhaustion) {
  const uint64_t limit = esn() ? UINT64_MAX : UINT32_MAX;
  out_->setLastSequence(limit - 1);
  auto pkt = pool_.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(50)));
  ASSERT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);  // the last number is usable
  EXPECT_EQ(out_->lastSequence(), limit);
  EXPECT_EQ(loadBe32(pkt->data() + 4), 0xFFFFFFFFu);
  ASSERT_TRUE(pkt->assign(innerPacket(50)));
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kSequenceExhausted);
  EXPECT_EQ(contents(*pkt), innerPacket(50));  // untouched
  EXPECT_EQ(out_->counters().sequenceExhausted, 1u);
  EXPECT_EQ(out_->counters().packetsSealed, 1u);
  if (!esn()) {
    // 32-bit SA: 0xFFFFFFFF is the end, whatever comes next.
    out_->setLastSequence(0xFFFFFFFF);
    EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kSequenceExhausted);
    EXPECT_EQ(out_->counters().sequenceExhausted, 2u);
  } else {
    // With ESN the 32-bit boundary is just a carry into the high half.
    out_->setLastSequence(0xFFFFFFFF);
    EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
    EXPECT_EQ(out_->lastSequence(), 0x100000000u);
  }
}

TEST_P(EspSaTest, NoRoomLeavesPacketAndSequenceAlone) {
  PacketPool tight(2, 128, 8);  // 8 bytes of headroom: less than header + IV
  auto pkt = tight.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(20)));
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kNoRoom);
  EXPECT_EQ(contents(*pkt), innerPacket(20));
  pkt->reset(kEspHeadroom);
  // 95 inner bytes need 3 pad bytes + 2 + ICV = 21 bytes of tailroom; 17 are left.
  ASSERT_TRUE(pkt->commit(128 - kEspHeadroom - 17));
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kNoRoom);
  EXPECT_EQ(pkt->size(), 95u);
  EXPECT_EQ(out_->lastSequence(), 0u);
  ASSERT_TRUE(pkt->trimBack(4));  // 91 bytes: 3 + 2 + 16 = 21 bytes, exactly what is left
  EXPECT_EQ(out_->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
  EXPECT_EQ(pkt->tailroom(), 0u);
  EXPECT_EQ(out_->lastSequence(), 1u);
}

TEST_P(EspSaTest, SequenceNumbersAcrossThe32BitBoundary) {
  const uint64_t start = 0x1FFFFFFF0;  // high half 1
  out_->setLastSequence(esn() ? start : 0xFFFFFFF0);
  EspTestAccess::primeReplayWindow(*in_, esn() ? start : 0xFFFFFFF0);
  uint8_t nh = 0;
  for (int i = 0; i < (esn() ? 40 : 15); ++i) {
    ASSERT_FALSE(open(seal(innerPacket(10)), nh).has_value()) << i;
  }
  if (esn()) {
    EXPECT_EQ(out_->lastSequence(), start + 40);
  }
}

INSTANTIATE_TEST_SUITE_P(AllCiphers, EspSaTest,
                         ::testing::Combine(::testing::ValuesIn(kAllCiphers), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(espCipherName(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_esn" : "_seq32");
                         });

TEST(EspSa, EsnHighHalfIsAuthenticated) {
  for (EspCipher c : kAllCiphers) {
    // The sender is one 2^32 subspace ahead of where the receiver's window infers: the
    // inferred high half differs, so the ICV (which covers it) fails.
    auto out = makeOut(testConfig(c, true));
    auto in = makeIn(testConfig(c, true));
    out->setLastSequence(0x100000004);
    EspTestAccess::primeReplayWindow(*in, 3);
    PacketPool pool(1, 256, 64);
    auto pkt = pool.acquire();
    ASSERT_TRUE(pkt->assign(innerPacket(10)));
    ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
    EXPECT_EQ(loadBe32(pkt->data() + 4), 5u);  // only the low half is on the wire
    uint8_t nh = 0;
    EXPECT_EQ(in->open(*pkt, nh), EspDrop::kIcv) << espCipherName(c);
  }
}

TEST(EspSa, EsnMismatchBetweenPeersFailsTheIcv) {
  auto out = makeOut(testConfig(EspCipher::kAesGcm16_256, true));
  auto in = makeIn(testConfig(EspCipher::kAesGcm16_256, false));
  PacketPool pool(1, 256, 64);
  auto pkt = pool.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(40)));
  ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
  uint8_t nh = 0;
  EXPECT_EQ(in->open(*pkt, nh), EspDrop::kIcv);
}

TEST(EspSa, DifferentKeysFailTheIcv) {
  auto out = makeOut(testConfig(EspCipher::kChaCha20Poly1305, false));
  auto cfg = testConfig(EspCipher::kChaCha20Poly1305, false);
  cfg.keymat.data()[35] ^= 1;  // only the salt differs
  auto in = makeIn(cfg);
  PacketPool pool(1, 256, 64);
  auto pkt = pool.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(40)));
  ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
  uint8_t nh = 0;
  EXPECT_EQ(in->open(*pkt, nh), EspDrop::kIcv);
}

TEST(EspSa, CreateValidatesConfig) {
  auto cfg = testConfig(EspCipher::kAesGcm16_128, false);
  EXPECT_TRUE(EspOutboundSa::create(cfg).isOk());
  cfg.keymat = testing_support::testKeymat(EspCipher::kAesGcm16_256);  // 36 bytes for a 20
  auto r = EspOutboundSa::create(cfg);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(EspInboundSa::create(cfg).isOk());
  cfg = testConfig(EspCipher::kAesGcm16_128, false, 0x100, 32);
  EXPECT_FALSE(EspInboundSa::create(cfg).isOk());
  cfg.replayWindow = 8192;
  EXPECT_FALSE(EspInboundSa::create(cfg).isOk());
  cfg.replayWindow = 4096;
  EXPECT_TRUE(EspInboundSa::create(cfg).isOk());
}

TEST(EspCipherNames, ParseAndLengths) {
  EXPECT_EQ(parseEspCipher("aes128gcm16"), EspCipher::kAesGcm16_128);
  EXPECT_EQ(parseEspCipher("aes256gcm16"), EspCipher::kAesGcm16_256);
  EXPECT_EQ(parseEspCipher("chacha20poly1305"), EspCipher::kChaCha20Poly1305);
  EXPECT_EQ(parseEspCipher("aes192gcm16"), std::nullopt);
  EXPECT_EQ(parseEspCipher(""), std::nullopt);
  for (EspCipher c : kAllCiphers) EXPECT_EQ(parseEspCipher(espCipherName(c)), c);
  EXPECT_EQ(espKeymatLength(EspCipher::kAesGcm16_128), 20u);
  EXPECT_EQ(espKeymatLength(EspCipher::kAesGcm16_256), 36u);
  EXPECT_EQ(espKeymatLength(EspCipher::kChaCha20Poly1305), 36u);
  EXPECT_EQ(espDropName(EspDrop::kIcv), "icv");
  EXPECT_EQ(espDropName(EspDrop::kPadding), "padding");
}

TEST(EspInboundTable, DemultiplexesBySpiAndCountsItsOwnDrops) {
  EspInboundTable table;
  auto cfgA = testConfig(EspCipher::kAesGcm16_128, false, 0xA0000001);
  auto cfgB = testConfig(EspCipher::kChaCha20Poly1305, true, 0xB0000002);
  ASSERT_TRUE(table.add(makeIn(cfgA)).isOk());
  ASSERT_TRUE(table.add(makeIn(cfgB)).isOk());
  EXPECT_EQ(table.add(makeIn(cfgA)).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(table.add(nullptr).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.add(makeIn(testConfig(EspCipher::kAesGcm16_128, false, 0))).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(table.size(), 2u);
  ASSERT_NE(table.find(0xA0000001), nullptr);
  EXPECT_EQ(table.find(0xC0000003), nullptr);

  auto outA = makeOut(cfgA);
  auto outB = makeOut(cfgB);
  PacketPool pool(2, 512, 64);
  uint8_t nh = 0;
  for (int i = 0; i < 5; ++i) {
    for (EspOutboundSa* out : {outA.get(), outB.get()}) {
      auto pkt = pool.acquire();
      ASSERT_TRUE(pkt->assign(innerPacket(100, static_cast<uint8_t>(i))));
      ASSERT_EQ(out->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
      ASSERT_FALSE(table.open(*pkt, nh).has_value());
      EXPECT_EQ(contents(*pkt), innerPacket(100, static_cast<uint8_t>(i)));
    }
  }
  EXPECT_EQ(table.find(0xA0000001)->counters().packetsOpened, 5u);
  EXPECT_EQ(table.find(0xB0000002)->counters().packetsOpened, 5u);

  // Unknown SPI and short packets land in the table's counters.
  auto pkt = pool.acquire();
  ASSERT_TRUE(pkt->assign(innerPacket(100)));
  ASSERT_EQ(outA->seal(*pkt, kNextHeaderIpv4), SealStatus::kOk);
  auto wire = contents(*pkt);
  storeBe32(wire.data(), 0xC0000003);
  ASSERT_TRUE(pkt->assign(wire));
  EXPECT_EQ(table.open(*pkt, nh), EspDrop::kBadSpi);
  ASSERT_TRUE(pkt->assign(Bytes(wire).first(20)));
  EXPECT_EQ(table.open(*pkt, nh), EspDrop::kTooShort);
  EXPECT_EQ(table.counters().drop(EspDrop::kBadSpi), 1u);
  EXPECT_EQ(table.counters().drop(EspDrop::kTooShort), 1u);
  // Everything else (here: an ICV failure) is counted by the SA.
  storeBe32(wire.data(), 0xA0000001);
  wire[40] ^= 0x80;
  ASSERT_TRUE(pkt->assign(wire));
  EXPECT_EQ(table.open(*pkt, nh), EspDrop::kIcv);
  EXPECT_EQ(table.find(0xA0000001)->counters().drop(EspDrop::kIcv), 1u);
  EXPECT_EQ(table.counters().drop(EspDrop::kIcv), 0u);

  EXPECT_TRUE(table.remove(0xA0000001));
  EXPECT_FALSE(table.remove(0xA0000001));
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace braid::ipsec

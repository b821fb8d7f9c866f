// XOR FEC: every single loss in a group is rebuilt byte for byte, and a lossy stream with
// reordered parity recovers exactly the groups a reference count says are recoverable.
#include "policy/fec.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "policy/engine.hpp"

namespace braid::policy {
namespace {

std::vector<uint8_t> payload(std::mt19937_64& rng, size_t maxLen) {
  std::vector<uint8_t> p(1 + rng() % maxLen);
  for (auto& b : p) b = static_cast<uint8_t>(rng());
  return p;
}

TEST(XorFec, RebuildsAnySingleLoss) {
  std::mt19937_64 rng(9);
  for (uint8_t k : {2, 4, 7, 20}) {
    XorFecEncoder enc(1500);
    std::vector<std::vector<uint8_t>> data;
    std::vector<FecPlace> places;
    for (uint8_t i = 0; i < k; ++i) {
      data.push_back(payload(rng, 1500));
      places.push_back(enc.addData(data.back(), k));
      EXPECT_EQ(places.back(), (FecPlace{0, i, k}));
      EXPECT_EQ(enc.parity().empty(), i + 1 < k);
    }
    std::vector<uint8_t> parity(enc.parity().begin(), enc.parity().end());
    EXPECT_EQ(enc.parityGroup(), 0u);
    EXPECT_EQ(enc.parityK(), k);
    for (uint8_t lost = 0; lost < k; ++lost) {
      XorFecDecoder dec(1500, 4);
      std::vector<uint8_t> out(1500);
      std::optional<XorFecDecoder::Recovered> r;
      // Parity first for odd losses, last for even ones.
      if (lost % 2) {
        EXPECT_FALSE(dec.onParity(0, k, parity, out));
      }
      for (uint8_t i = 0; i < k; ++i) {
        if (i == lost) continue;
        auto got = dec.onData(places[i], data[i], out);
        if (got) r = got;
      }
      if (lost % 2 == 0) r = dec.onParity(0, k, parity, out);
      ASSERT_TRUE(r) << int{k} << " " << int{lost};
      EXPECT_EQ(r->place, places[lost]);
      ASSERT_EQ(r->length, data[lost].size());
      EXPECT_TRUE(std::equal(data[lost].begin(), data[lost].end(), out.begin()));
      EXPECT_EQ(dec.counters().recovered, 1u);
    }
  }
}

TEST(XorFec, LossyStreamRecoversWhatAReferenceSaysItCan) {
  // 3 % i.i.d. loss on data and parity; k from the engine's ramp; parity sometimes
  // overtaken by the next group's packets.
  const float loss = 0.03f;
  const uint8_t k = Engine::fecGroupForLoss(loss);
  ASSERT_EQ(k, 3);
  std::mt19937_64 rng(11);
  auto lost = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53 < loss; };
  XorFecEncoder enc(1400);
  XorFecDecoder dec(1400, 16);
  std::vector<uint8_t> out(1400);
  std::map<uint64_t, std::vector<uint8_t>> sent;  // key: group * 32 + index
  std::map<uint64_t, int> dataLost;               // per group
  std::map<uint64_t, bool> parityArrived;
  struct Pending {
    uint64_t group;
    std::vector<uint8_t> bytes;
  };
  std::vector<Pending> delayedParity;
  uint64_t recovered = 0, dataSent = 0, dataDropped = 0;
  auto check = [&](const std::optional<XorFecDecoder::Recovered>& r) {
    if (!r) return;
    ++recovered;
    const auto& want = sent.at(r->place.group * 32 + r->place.index);
    ASSERT_EQ(r->length, want.size());
    ASSERT_TRUE(std::equal(want.begin(), want.end(), out.begin()));
  };
  for (int i = 0; i < 100'000; ++i) {
    auto p = payload(rng, 300);
    FecPlace place = enc.addData(p, k);
    sent[place.group * 32 + place.index] = p;
    if (place.group > 64) sent.erase(sent.begin(), sent.lower_bound((place.group - 64) * 32));
    ++dataSent;
    if (lost()) {
      ++dataDropped;
      ++dataLost[place.group];
    } else {
      check(dec.onData(place, p, out));
    }
    if (!enc.parity().empty()) {
      bool arrives = !lost();
      parityArrived[enc.parityGroup()] = arrives;
      if (arrives) {
        delayedParity.push_back(
            {enc.parityGroup(), std::vector<uint8_t>(enc.parity().begin(), enc.parity().end())});
      }
    }
    // Parity is delivered 0-3 packets late.
    while (!delayedParity.empty() && rng() % 3 == 0) {
      check(dec.onParity(delayedParity.front().group, k, delayedParity.front().bytes, out));
      delayedParity.erase(delayedParity.begin());
    }
  }
  uint64_t recoverable = 0;
  for (const auto& [group, n] : dataLost) recoverable += n == 1 && parityArrived[group];
  EXPECT_EQ(recovered, recoverable);
  double residual = static_cast<double>(dataDropped - recovered) / static_cast<double>(dataSent);
  std::printf("k=%u: %.3f %% lost, %.3f %% after FEC, overhead %.1f %% packets\n", k,
              100.0 * static_cast<double>(dataDropped) / static_cast<double>(dataSent),
              100.0 * residual, 100.0 / k);
  EXPECT_LT(residual, 0.005);
}

TEST(XorFec, OversizeAndInconsistentInputIsRefused) {
  XorFecEncoder enc(100);
  std::vector<uint8_t> big(101);
  EXPECT_EQ(enc.addData(big, 4).k, 0);
  XorFecDecoder dec(100, 4);
  std::vector<uint8_t> out(100), small(10);
  EXPECT_FALSE(dec.onData({0, 5, 4}, small, out));  // index beyond k
  EXPECT_FALSE(dec.onData({0, 0, 4}, small, out));
  EXPECT_FALSE(dec.onData({0, 1, 5}, small, out));  // k changed within a group
  EXPECT_EQ(dec.counters().badParity, 1u);
  EXPECT_FALSE(dec.onParity(0, 4, std::vector<uint8_t>(1), out));
  EXPECT_FALSE(dec.onParity(0, 4, std::vector<uint8_t>(200), out));
  EXPECT_EQ(dec.counters().badParity, 3u);
}

}  // namespace
}  // namespace braid::policy

#include "deploy/lab/wanem/link_model.hpp"

#include <algorithm>
#include <cmath>

namespace braid::wanem {
namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

Duration nanos(double ns) {
  return Duration(static_cast<int64_t>(std::llround(ns)));
}

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

bool Rng::chance(double probability) {
  if (probability <= 0.0) return false;
  if (probability >= 1.0) return true;
  return uniform() < probability;
}

double Rng::normal() {
  if (haveSpare_) {
    haveSpare_ = false;
    return spare_;
  }
  double u1 = 0.0;
  while (u1 <= 0.0) u1 = uniform();
  double u2 = uniform();
  double mag = std::sqrt(-2.0 * std::log(u1));
  spare_ = mag * std::sin(2.0 * M_PI * u2);
  haveSpare_ = true;
  return mag * std::cos(2.0 * M_PI * u2);
}

Duration DirectionModel::jitterSample() {
  double j = static_cast<double>(params_.jitter.count());
  if (j <= 0.0) return Duration::zero();
  if (params_.dist == JitterDist::kUniform) return nanos((rng_.uniform() * 2.0 - 1.0) * j);
  // sigma = J/2, truncated to +-J by resampling (about 4.6% of draws are redrawn).
  for (;;) {
    double x = rng_.normal() * 0.5;
    if (x >= -1.0 && x <= 1.0) return nanos(x * j);
  }
}

size_t DirectionModel::rateQueued(TimePoint now) {
  while (!departures_.empty() && departures_.front() <= now) departures_.pop_front();
  return departures_.size();
}

void DirectionModel::flush() {
  departures_.clear();
  bucketFull_ = TimePoint{};
  lastRelease_ = TimePoint{};
}

Decision DirectionModel::onPacket(TimePoint now, uint32_t ipBytes) {
  Decision d;
  const LinkParams& p = params_;
  if (p.down) {
    d.verdict = Verdict::kDropDown;
    return d;
  }
  if (p.mtu != 0 && ipBytes > p.mtu) {
    d.verdict = Verdict::kDropMtu;
    return d;
  }
  if (rng_.chance(p.loss)) {
    d.verdict = Verdict::kDropLoss;
    return d;
  }
  if (p.ge.enabled) {
    // Transition first, then lose with the new state's probability.
    geBad_ = geBad_ ? !rng_.chance(p.ge.r) : rng_.chance(p.ge.p);
    if (rng_.chance(geBad_ ? p.ge.lossBad : p.ge.lossGood)) {
      d.verdict = Verdict::kDropBurst;
      return d;
    }
  }

  TimePoint depart = now;
  if (p.rateBps != 0) {
    double nsPerByte = 8e9 / static_cast<double>(p.rateBps);
    Duration cost = nanos(ipBytes * nsPerByte);
    Duration tau = nanos(p.effectiveBucketBytes() * nsPerByte);
    depart = std::max(now, bucketFull_ - tau + cost);
    if (depart > now && rateQueued(now) >= p.queueLimit) {
      d.verdict = Verdict::kDropQueue;  // tail drop
      return d;
    }
    bucketFull_ = std::max(bucketFull_, depart) + cost;
    if (depart > now) departures_.push_back(depart);
  }

  if (rng_.chance(p.reorder)) {
    // Jumps ahead of everything in the delay line, like netem's reorder.
    d.release = depart;
    d.reordered = true;
  } else {
    Duration delay = p.delay + jitterSample();
    if (delay < Duration::zero()) delay = Duration::zero();
    d.release = std::max(depart + delay, lastRelease_);
    lastRelease_ = d.release;
  }
  d.duplicate = rng_.chance(p.duplicate);
  return d;
}

}  // namespace braid::wanem

// Writes the seed corpus of fuzz_ike_sa: programs for the World in ike_sa_world.hpp covering
// a full handshake, the issue 11 cases (a notify-only IKE_SA_INIT, IKE_AUTH without IDi/AUTH,
// plaintext IKE_AUTH/INFORMATIONAL to an established SA, a replayed IKE_SA_INIT with the SPIs
// of an established SA), CREATE_CHILD_SA and INFORMATIONAL exchanges in both directions,
// collisions, retransmissions and timeouts. Injected payload chains are taken from a real run
// (decrypted), some with payloads removed.
//   ike_sa_seeds DIR
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/fuzz/ike_sa_world.hpp"

using namespace braid;
using namespace braid::ike;
using namespace braid::ike::fuzz;

namespace {

class Program {
 public:
  explicit Program(uint8_t config) { b_.push_back(config); }
  const ByteVec& bytes() const { return b_; }
  Program& deliver(int side, int index = 0) { return op(kOpDeliver, sel(side, index)); }
  Program& drop(int side, int index = 0) { return op(kOpDrop, sel(side, index)); }
  Program& duplicate(int side, int index = 0) { return op(kOpDuplicate, sel(side, index)); }
  Program& replay(int side, int index) { return op(kOpReplay, sel(side, index)); }
  Program& run(int n = 16) { return op(kOpRun, static_cast<uint8_t>(n - 1)); }
  Program& advance(int ms) {
    if (ms > 0x7fff)
      return op(kOpAdvance, static_cast<uint8_t>(0x80 | (ms / 100) >> 8),
                static_cast<uint8_t>(ms / 100));
    return op(kOpAdvance, static_cast<uint8_t>(ms >> 8), static_cast<uint8_t>(ms));
  }
  Program& act(int side, Action a, uint8_t arg = 0) {
    return op(kOpOperator, static_cast<uint8_t>(side | a << 1), arg);
  }
  Program& swap(int side, int i, int j) {
    return op(kOpSwap, sel(side, i), static_cast<uint8_t>(j));
  }
  Program& mutate(int side, int index, std::vector<std::pair<uint16_t, uint8_t>> edits) {
    op(kOpMutate, sel(side, index), static_cast<uint8_t>(edits.size() - 1));
    for (auto [pos, x] : edits) u16(pos).u8(x);
    return *this;
  }
  Program& rewrite(int side, int index, uint8_t first,
                   std::vector<std::pair<uint16_t, uint8_t>> edits) {
    op(kOpRewriteSk, sel(side, index), first, static_cast<uint8_t>(edits.size() - 1));
    for (auto [pos, x] : edits) u16(pos).u8(x);
    return *this;
  }
  Program& raw(int target, int src, bool natt, const ByteVec& data) {
    op(kOpRaw, static_cast<uint8_t>(target | src << 1 | (natt ? 8 : 0)));
    u16(static_cast<uint16_t>(data.size()));
    b_.insert(b_.end(), data.begin(), data.end());
    return *this;
  }
  // kOpInjectSk / kOpPlain. exchange 0..3 = IKE_SA_INIT..INFORMATIONAL.
  Program& message(bool sk, int target, int sa, int exchange, bool response, int idMode,
                   uint8_t first, const ByteVec& inner, int src = 0) {
    op(sk ? kOpInjectSk : kOpPlain, static_cast<uint8_t>(target | src << 1 | sa << 3),
       static_cast<uint8_t>(exchange), static_cast<uint8_t>(response ? 1 : 0),
       static_cast<uint8_t>(idMode), first);
    u16(static_cast<uint16_t>(inner.size()));
    b_.insert(b_.end(), inner.begin(), inner.end());
    return *this;
  }

 private:
  static uint8_t sel(int side, int index) { return static_cast<uint8_t>(side | index << 1); }
  template <typename... T>
  Program& op(Op o, T... args) {
    b_.push_back(o);
    (b_.push_back(static_cast<uint8_t>(args)), ...);
    return *this;
  }
  Program& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Program& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  ByteVec b_;
};

struct Chain {
  uint8_t first = 0;
  ByteVec bytes;
};

// The payload chain without the payloads of the types in `drop`.
Chain without(const Chain& c, std::set<uint8_t> drop) {
  struct P {
    uint8_t type;
    ByteVec body;  // generic header included
  };
  std::vector<P> ps;
  uint8_t type = c.first;
  size_t off = 0;
  while (type != 0 && off + 4 <= c.bytes.size()) {
    size_t len = c.bytes[off + 2] << 8 | c.bytes[off + 3];
    if (len < 4 || off + len > c.bytes.size()) break;
    ps.push_back({type, ByteVec(c.bytes.begin() + off, c.bytes.begin() + off + len)});
    type = c.bytes[off];
    off += len;
  }
  std::vector<P> kept;
  for (auto& p : ps) {
    if (!drop.count(p.type)) kept.push_back(p);
  }
  Chain out;
  out.first = kept.empty() ? 0 : kept[0].type;
  for (size_t i = 0; i < kept.size(); ++i) {
    kept[i].body[0] = i + 1 < kept.size() ? kept[i + 1].type : 0;
    out.bytes.insert(out.bytes.end(), kept[i].body.begin(), kept[i].body.end());
  }
  return out;
}

ByteVec ikeHeader(uint64_t spiI, uint64_t spiR, uint8_t next, uint8_t exchange, uint8_t flags,
                  uint32_t id, size_t length) {
  ByteVec h(28);
  for (int i = 0; i < 8; ++i) {
    h[i] = static_cast<uint8_t>(spiI >> (56 - 8 * i));
    h[8 + i] = static_cast<uint8_t>(spiR >> (56 - 8 * i));
  }
  h[16] = next;
  h[17] = 0x20;
  h[18] = exchange;
  h[19] = flags;
  for (int i = 0; i < 4; ++i) {
    h[20 + i] = static_cast<uint8_t>(id >> (24 - 8 * i));
    h[24 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  }
  return h;
}

// A notify payload (RFC 7296 3.10) with no SPI.
ByteVec notifyPayload(uint8_t next, uint16_t type, const ByteVec& data) {
  size_t len = 8 + data.size();
  ByteVec p = {next, 0, static_cast<uint8_t>(len >> 8),  static_cast<uint8_t>(len),
               0,    0, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type)};
  p.insert(p.end(), data.begin(), data.end());
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ike_sa_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  size_t written = 0;
  auto write = [&](const std::string& name, const Program& p) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(p.bytes().data()),
              static_cast<std::streamsize>(p.bytes().size()));
    ++written;
  };

  // One real run with every exchange, to take payload chains from.
  World w;
  w.capture = true;
  Program tour(kCfgEstablish | kCfgPfs);
  tour.act(0, kActCreateChild, 1).run().act(0, kActDeleteChild, 1).run();
  tour.act(1, kActLive).run().act(1, kActDeleteIke).run();
  w.run(tour.bytes());
  auto find = [&](int from, ExchangeType e, bool response, int nth = 0) {
    for (const auto& c : w.captured) {
      if (c.from == from && c.exchange == e && c.response == response && nth-- == 0) {
        return Chain{c.firstInner, c.inner};
      }
    }
    std::fprintf(stderr, "ike_sa_seeds: no %d %d %d in the capture\n", from, int(e), response);
    std::exit(1);
  };
  const Chain initReq = find(0, ExchangeType::kIkeSaInit, false);
  const Chain initResp = find(1, ExchangeType::kIkeSaInit, true);
  const Chain authReq = find(0, ExchangeType::kIkeAuth, false);
  const Chain authResp = find(1, ExchangeType::kIkeAuth, true);
  const Chain ccsaReq = find(0, ExchangeType::kCreateChildSa, false);
  const Chain ccsaResp = find(1, ExchangeType::kCreateChildSa, true);
  const Chain delChildReq = find(0, ExchangeType::kInformational, false);
  const Chain delChildResp = find(1, ExchangeType::kInformational, true);
  const Chain liveReq = find(1, ExchangeType::kInformational, false);
  const Chain delIkeReq = find(1, ExchangeType::kInformational, false, 1);
  const uint8_t N = static_cast<uint8_t>(PayloadType::kNotify);
  const uint8_t kIdi = 35, kIdr = 36, kAuth = 39, kSa = 33, kTsi = 44, kTsr = 45, kKe = 34;
  const int I = 0, A = 1, C = 2, INFO = 3;  // exchanges 34..37

  // ---- handshakes ---------------------------------------------------------------------------
  write("handshake_steps", Program(0).deliver(0).deliver(1).deliver(0).deliver(1));
  write("established", Program(kCfgEstablish));
  for (uint8_t suite = 0; suite < 4; ++suite) {
    uint8_t cfg = kCfgEstablish | static_cast<uint8_t>(suite << 3);
    write("tour_suite" + std::to_string(suite), Program(cfg)
                                                    .act(0, kActCreateChild, 1)
                                                    .run()
                                                    .act(1, kActDeleteChild, 0)
                                                    .run()
                                                    .act(0, kActLive)
                                                    .run()
                                                    .act(0, kActDeleteIke)
                                                    .run());
  }
  write("tour_pfs_encap", Program(kCfgEstablish | kCfgPfs | kCfgForceEncap)
                              .act(1, kActCreateChild, 1)
                              .run()
                              .act(0, kActDeleteChild, 1)
                              .run());
  write("nat_a", Program(0 | kCfgNatA).run().act(0, kActCreateChild, 1).run());
  write("nat_a_any", Program(kCfgNatA | kCfgAnyRemote).run().act(0, kActLive).run());
  write("retransmit_timeout",
        Program(0).deliver(0).drop(1).advance(1500).run().advance(1100).advance(20000));
  write("auth_lost", Program(0).deliver(0).deliver(1).drop(0).advance(1000).run());
  write("duplicate_init", Program(0).duplicate(0).deliver(0).run());
  write("reorder_ccsa", Program(kCfgEstablish)
                            .act(0, kActCreateChild, 1)
                            .act(0, kActLive)
                            .deliver(0)
                            .swap(1, 0, 1)
                            .run());
  write("collision_ccsa", Program(kCfgEstablish)
                              .act(0, kActCreateChild, 1)
                              .act(1, kActCreateChild, 1)
                              .deliver(0)
                              .deliver(1)
                              .run());
  write("collision_delete", Program(kCfgEstablish)
                                .act(0, kActDeleteIke)
                                .act(1, kActDeleteIke)
                                .deliver(0)
                                .deliver(1)
                                .run());
  write("collision_ike", Program(0).act(1, kActInitiate).run());
  write("reinitiate", Program(kCfgEstablish).act(0, kActInitiate).run());
  write("delete_unknown_child", Program(kCfgEstablish).act(0, kActDeleteChild, 0xff).run());

  // ---- issue 11 -----------------------------------------------------------------------------
  // The 52-byte IKE_SA_INIT request with one COOKIE notify and nothing else.
  ByteVec cookie(16, 0xc0);
  ByteVec notifyOnly = ikeHeader(0x1122334455667788ULL, 0, N, 34, 0x08, 0, 52);
  ByteVec np = notifyPayload(0, 16390, cookie);
  notifyOnly.insert(notifyOnly.end(), np.begin(), np.end());
  write("init_notify_only_52", Program(0).raw(1, 0, false, notifyOnly));
  write("init_notify_only_52_established", Program(kCfgEstablish).raw(1, 2, false, notifyOnly));
  ByteVec errorOnly = ikeHeader(0x1122334455667789ULL, 0, N, 34, 0x08, 0, 36);
  np = notifyPayload(0, 7, {});  // INVALID_SYNTAX
  errorOnly.insert(errorOnly.end(), np.begin(), np.end());
  write("init_error_notify_only", Program(0).raw(1, 0, false, errorOnly));
  // The same as an IKE_SA_INIT response to the initiator.
  write("init_response_notify_only",
        Program(0).message(false, 0, 0, I, true, 0, N, notifyPayload(0, 16390, cookie)));
  // IKE_SA_INIT requests with mandatory payloads missing.
  write("init_without_ke",
        Program(0).message(false, 1, 1, I, false, 0, without(initReq, {kKe}).first,
                           without(initReq, {kKe}).bytes));
  write("init_without_sa",
        Program(0).message(false, 1, 1, I, false, 0, without(initReq, {kSa}).first,
                           without(initReq, {kSa}).bytes));
  // IKE_AUTH requests without IDi/AUTH (b has answered IKE_SA_INIT; SA 1 = its first SPI).
  for (auto [name, drop] : std::vector<std::pair<std::string, std::set<uint8_t>>>{
           {"auth_without_idi_auth", {kIdi, kAuth}},
           {"auth_without_auth", {kAuth}},
           {"auth_without_sa_ts", {kSa, kTsi, kTsr}},
           {"auth_notify_only", {kIdi, kAuth, kSa, kTsi, kTsr, 38}}}) {
    Chain c = without(authReq, drop);
    write(name,
          Program(0).deliver(0).deliver(1).message(true, 1, 1, A, false, 0, c.first, c.bytes));
  }
  // IKE_AUTH responses without IDr/AUTH to the initiator.
  for (auto [name, drop] : std::vector<std::pair<std::string, std::set<uint8_t>>>{
           {"auth_response_without_idr_auth", {kIdr, kAuth}},
           {"auth_response_without_sa_ts", {kSa, kTsi, kTsr}}}) {
    Chain c = without(authResp, drop);
    write(name, Program(0).deliver(0).deliver(1).message(true, 0, 0, A, true, 0, c.first, c.bytes));
  }
  write("auth_response_real", Program(0).deliver(0).deliver(1).message(
                                  true, 0, 0, A, true, 0, authResp.first, authResp.bytes));
  // Plaintext IKE_AUTH and INFORMATIONAL to established SAs, both directions.
  write("plain_auth_to_established",
        Program(kCfgEstablish).message(false, 1, 0, A, false, 1, authReq.first, authReq.bytes));
  write("plain_auth_response_to_initiator",
        Program(kCfgEstablish).message(false, 0, 0, A, true, 1, authResp.first, authResp.bytes));
  write("plain_informational_delete",
        Program(kCfgEstablish)
            .message(false, 1, 0, INFO, false, 0, delIkeReq.first, delIkeReq.bytes));
  write("plain_informational_empty",
        Program(kCfgEstablish).message(false, 0, 0, INFO, false, 0, 0, {}));
  write("plain_ccsa",
        Program(kCfgEstablish).message(false, 1, 0, C, false, 0, ccsaReq.first, ccsaReq.bytes));
  // A replayed IKE_SA_INIT: the original datagram, and one with the established SA's SPIs.
  write("replay_init", Program(kCfgEstablish).replay(0, 0).run());
  write("replay_init_response", Program(kCfgEstablish).replay(1, 0));
  write(
      "init_with_established_spis",
      Program(kCfgEstablish).message(false, 1, 0, I, false, 0, initReq.first, initReq.bytes).run());
  write("init_response_with_established_spis",
        Program(kCfgEstablish).message(false, 0, 0, I, true, 0, initResp.first, initResp.bytes));
  write("replay_auth", Program(kCfgEstablish).replay(0, 1).replay(1, 1));

  // ---- SK-protected injections, every exchange, both directions -----------------------------
  write("sk_ccsa_request_to_b", Program(kCfgEstablish | kCfgPfs)
                                    .message(true, 1, 0, C, false, 0, ccsaReq.first, ccsaReq.bytes)
                                    .run());
  write("sk_ccsa_request_to_a", Program(kCfgEstablish | kCfgPfs)
                                    .message(true, 0, 0, C, false, 0, ccsaReq.first, ccsaReq.bytes)
                                    .run());
  write("sk_ccsa_response_to_a",
        Program(kCfgEstablish | kCfgPfs)
            .act(0, kActCreateChild, 1)
            .message(true, 0, 0, C, true, 0, ccsaResp.first, ccsaResp.bytes)
            .run());
  Chain ccsaNoKe = without(ccsaReq, {kKe});
  write("sk_ccsa_request_without_ke",
        Program(kCfgEstablish | kCfgPfs)
            .message(true, 1, 0, C, false, 0, ccsaNoKe.first, ccsaNoKe.bytes));
  Chain ccsaNoTs = without(ccsaReq, {kTsi, kTsr});
  write("sk_ccsa_request_without_ts",
        Program(kCfgEstablish).message(true, 1, 0, C, false, 0, ccsaNoTs.first, ccsaNoTs.bytes));
  write("sk_delete_child_to_b",
        Program(kCfgEstablish | kCfgPfs)
            .act(0, kActCreateChild, 1)
            .run()
            .message(true, 1, 0, INFO, false, 0, delChildReq.first, delChildReq.bytes)
            .run());
  write("sk_delete_child_response_to_a",
        Program(kCfgEstablish)
            .act(0, kActDeleteChild, 0)
            .message(true, 0, 0, INFO, true, 0, delChildResp.first, delChildResp.bytes)
            .run());
  write("sk_delete_ike_to_a",
        Program(kCfgEstablish)
            .message(true, 0, 0, INFO, false, 0, delIkeReq.first, delIkeReq.bytes)
            .run());
  write("sk_delete_ike_to_b",
        Program(kCfgEstablish)
            .message(true, 1, 0, INFO, false, 0, delIkeReq.first, delIkeReq.bytes)
            .run());
  write("sk_empty_informational",
        Program(kCfgEstablish).message(true, 1, 0, INFO, false, 0, liveReq.first, liveReq.bytes));
  write("sk_informational_from_new_address",
        Program(kCfgEstablish | kCfgNatA).message(true, 1, 0, INFO, false, 0, 0, {}, 2).run());
  write("sk_auth_after_established",
        Program(kCfgEstablish).message(true, 1, 0, A, false, 0, authReq.first, authReq.bytes));
  write("sk_auth_request_real", Program(0)
                                    .deliver(0)
                                    .deliver(1)
                                    .drop(0)
                                    .message(true, 1, 1, A, false, 0, authReq.first, authReq.bytes)
                                    .run());
  write("sk_init_exchange_protected",
        Program(kCfgEstablish).message(true, 1, 0, I, false, 0, initReq.first, initReq.bytes));
  write("sk_wrong_message_id", Program(kCfgEstablish)
                                   .message(true, 1, 0, INFO, false, 2, 0, {})
                                   .message(true, 1, 0, INFO, false, 1, 0, {}));
  write("sk_unsupported_critical",
        Program(kCfgEstablish).message(true, 1, 0, INFO, false, 0, 49, {0, 0x80, 0, 4}));

  // ---- damaged and rewritten datagrams ------------------------------------------------------
  write("mutate_init", Program(0).mutate(0, 0, {{40, 0x01}, {17, 0xff}}).run());
  write("mutate_auth_icv", Program(0).deliver(0).deliver(1).mutate(0, 0, {{0xffff, 0x80}}).run());
  write("truncate_ccsa",
        Program(kCfgEstablish).act(0, kActCreateChild).mutate(0, 0, {{60, 0}}).run());
  write("rewrite_auth",
        Program(0).deliver(0).deliver(1).rewrite(0, 0, 0, {{10, 0x04}, {200, 0x01}}).run());
  write("rewrite_ccsa",
        Program(kCfgEstablish).act(0, kActCreateChild, 1).rewrite(0, 0, 0, {{30, 0x10}}).run());
  write("rewrite_informational_type",
        Program(kCfgEstablish).act(1, kActLive).rewrite(1, 0, 41, {{0, 0}}).run());

  // ---- many half-open SAs -------------------------------------------------------------------
  auto init = [&](uint64_t spiI) {
    ByteVec d = ikeHeader(spiI, 0, initReq.first, 34, 0x08, 0, 28 + initReq.bytes.size());
    d.insert(d.end(), initReq.bytes.begin(), initReq.bytes.end());
    return d;
  };
  for (uint8_t cfg : {uint8_t{0}, uint8_t{kCfgTightLimits}}) {
    Program flood(cfg);
    for (int i = 0; i < 30; ++i) flood.raw(1, i % 4, false, init(0xabc0000000000000ULL + i));
    flood.run().advance(31000).run();
    write(cfg ? "flood_half_open_tight" : "flood_half_open", flood);
  }
  // Two half-open SAs from elsewhere: b answers a's IKE_SA_INIT with a COOKIE (RFC 7296 2.6).
  write("cookie_handshake", Program(kCfgTightLimits)
                                .raw(1, 2, false, init(0xc00c1e0000000001ULL))
                                .raw(1, 2, false, init(0xc00c1e0000000002ULL))
                                .run()
                                .act(0, kActCreateChild, 1)
                                .run());
  write("cookie_replayed", Program(kCfgTightLimits)
                               .raw(1, 2, false, init(0xc00c1e0000000001ULL))
                               .raw(1, 2, false, init(0xc00c1e0000000002ULL))
                               .deliver(0)
                               .deliver(1)
                               .replay(0, 1)
                               .replay(0, 1)
                               .advance(61000)
                               .replay(0, 1)
                               .run());
  // ---- collisions (RFC 7296 2.8.1, 2.8.2, 2.25): both sides start in the same step ----------
  // Each pair three ways: both requests cross (delivered before either response), one
  // request lost and retransmitted, and the responses swapped. A second Child SA first, so
  // that deleting one leaves the other. Each must pass the settled pair checks.
  static const char* kBothNames[kBothCount] = {"rekey_child",
                                               "rekey_ike",
                                               "rekey_vs_delete_child",
                                               "delete_vs_rekey_child",
                                               "delete_vs_delete_child",
                                               "rekey_ike_vs_delete_ike",
                                               "delete_ike_vs_rekey_ike",
                                               "delete_vs_delete_ike",
                                               "rekey_child_vs_rekey_ike",
                                               "rekey_ike_vs_rekey_child"};
  size_t unchecked = 0;
  auto collision = [&](const std::string& name, const Program& p) {
    World check;
    check.run(p.bytes());
    if (!check.pairsChecked || check.collisions == 0) {
      std::fprintf(stderr, "ike_sa_seeds: %s did not reach the settled checks\n", name.c_str());
      ++unchecked;
    }
    write(name, p);
  };
  for (uint8_t k = 0; k < kBothCount; ++k) {
    for (uint8_t cfg : {uint8_t{kCfgEstablish}, uint8_t{kCfgEstablish | kCfgPfs}}) {
      const std::string base = std::string("both_") + kBothNames[k] + (cfg & kCfgPfs ? "_pfs" : "");
      Program setup(cfg);
      setup.act(0, kActCreateChild, 1).run();
      collision(base + "_crossing",
                Program(setup).act(0, kActBoth, k).deliver(0).deliver(1).run().advance(3000).run());
      collision(base + "_lost", Program(setup)
                                    .act(0, kActBoth, static_cast<uint8_t>(k + kBothCount))
                                    .drop(0)
                                    .deliver(1)
                                    .run()
                                    .advance(1500)
                                    .run()
                                    .advance(5000)
                                    .run());
      collision(base + "_swapped", Program(setup)
                                       .act(0, kActBoth, k)
                                       .deliver(0)
                                       .deliver(1)
                                       .swap(0, 0, 1)
                                       .swap(1, 0, 1)
                                       .run()
                                       .advance(3000)
                                       .run());
    }
  }
  write("rekey_child_single", Program(kCfgEstablish).act(0, kActRekeyChild).run().advance(3000));
  write("rekey_ike_single", Program(kCfgEstablish).act(1, kActRekeyIke).run().advance(3000));
  if (unchecked != 0) return 1;
  std::printf("wrote %zu seeds to %s\n", written, dir.c_str());
  return 0;
}

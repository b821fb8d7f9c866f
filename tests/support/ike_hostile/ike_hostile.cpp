// braid-ike-hostile: attacks a running IKEv2 responder (braidd) over a real UDP socket with
// malformed, truncated, replayed and out-of-state IKE datagrams, plaintext and SK-protected,
// and prints what it sent per category (tests/integration/ike_hostile.sh checks braidd's drop
// counters against it). A lab and test tool: it needs the responder's PSK, because the
// SK-protected attacks come from a real IKE SA that it establishes through ike::SaManager.
//
// Phases (each datagram's category is counted; "expect.<reason>" counts datagrams whose drop
// reason is certain, so the test can check braidd's counters against them):
//   establish  a legitimate IKE SA; its datagrams are recorded for the replay phase
//   plain      garbage, truncated headers, bad lengths, IKE_SA_INIT without SA/KE/Ni or with
//              only a notify, unknown critical payloads, plaintext IKE_AUTH / CREATE_CHILD_SA /
//              INFORMATIONAL with the SPIs of the established or of half-open SAs, responses
//              with random SPIs
//   sk         on the established SA: wrong message IDs, bad ICVs, truncated SK, out-of-state
//              IKE_AUTH / IKE_SA_INIT, SK-protected responses; then mutated inner payload
//              chains at the expected message ID (these reach the tasks)
//   auth       half-open SAs whose IKE_AUTH request (decrypted, mutated, re-sealed) is sent
//              instead of ours: mutated IKE_AUTH chains reach the responder's IKE_AUTH task
//   replay     recorded datagrams replayed while the SA is up and after it was deleted
// Every 32 datagrams a liveness check (empty INFORMATIONAL, RFC 7296 1.4) at the expected
// message ID must be answered and its answer must decrypt: the hostile input changed neither
// the SA's message IDs nor its keys, and it also paces the sender.
//
// Usage: braid-ike-hostile --local ADDR --remote ADDR --psk PSK --local-id ID --remote-id ID
//          --local-ts PREFIX --remote-ts PREFIX [--seed N] [--plain N] [--sk N] [--auth N]
//          [--replay N] [--timeout-ms N] [--proposals P] [--esp-proposals P]
//          [--port N] [--remote-port N] [--natt-port N] [--remote-natt-port N]
// Exit status: 0 when every phase ran; 1 when the legitimate IKE SA could not be set up or a
// liveness check of the deterministic phases was not answered (braidd lost state); 2 on bad
// arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "ipsec/ike/crypto_cipher.hpp"
#include "ipsec/ike/crypto_dh.hpp"
#include "ipsec/ike/message.hpp"
#include "ipsec/ike/sa_manager.hpp"

namespace {

using namespace braid;
using namespace braid::ike;

constexpr uint8_t kVersion2 = 0x20;
constexpr uint8_t kNoNext = 0;
constexpr uint8_t kSk = 46;
constexpr uint8_t kInit = 34, kAuth = 35, kChild = 36, kInfo = 37;
constexpr const char* kPeer = "braidd";

struct Options {
  std::string local, remote, psk, localId, remoteId, localTs, remoteTs;
  std::string proposals = "aes256gcm16-prfsha256-x25519";
  std::string espProposals = "aes256gcm16";
  uint64_t seed = 1;
  uint32_t plain = 5000, sk = 2000, auth = 100, replay = 500;
  int timeoutMs = 500;
  uint16_t port = 500, remotePort = 500;
  uint16_t nattPort = 4500, remoteNattPort = 4500;
};

// xorshift64*: the hostile content is reproducible from --seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t u64() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 2685821657736338717ull;
  }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : static_cast<uint32_t>(u64() % n); }
  bool chance(uint32_t percent) { return below(100) < percent; }
  ByteVec bytes(size_t n) {
    ByteVec v(n);
    for (auto& b : v) b = static_cast<uint8_t>(u64());
    return v;
  }

 private:
  uint64_t s_;
};

void putBe16(ByteVec& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void putBe32(ByteVec& v, uint32_t x) {
  putBe16(v, static_cast<uint16_t>(x >> 16));
  putBe16(v, static_cast<uint16_t>(x));
}
void putBe64(ByteVec& v, uint64_t x) {
  putBe32(v, static_cast<uint32_t>(x >> 32));
  putBe32(v, static_cast<uint32_t>(x));
}
void setBe32(ByteVec& v, size_t at, uint32_t x) {
  for (int i = 0; i < 4; ++i) v[at + i] = static_cast<uint8_t>(x >> (24 - 8 * i));
}
uint64_t getBe64(Bytes b, size_t at) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = x << 8 | b[at + i];
  return x;
}
uint32_t getBe32(Bytes b, size_t at) {
  return static_cast<uint32_t>(getBe64(b, at) >> 32);
}

// One payload as raw bytes: the body of a payload class, or anything at all.
struct Raw {
  uint8_t type = 0;
  uint8_t flags = 0;
  ByteVec body;
  std::optional<uint16_t> length;  // a lie in the generic header
};

ByteVec bodyOf(const PayloadBody& b) {
  ByteVec buf(65535);
  ByteWriter w(buf);
  if (!serializePayloadBody(b, w)) return {};
  buf.resize(w.position());
  return buf;
}

ByteVec encodeChain(const std::vector<Raw>& ps) {
  ByteVec out;
  for (size_t i = 0; i < ps.size(); ++i) {
    out.push_back(i + 1 < ps.size() ? ps[i + 1].type : kNoNext);
    out.push_back(ps[i].flags);
    putBe16(out, ps[i].length.value_or(static_cast<uint16_t>(ps[i].body.size() + 4)));
    out.insert(out.end(), ps[i].body.begin(), ps[i].body.end());
  }
  return out;
}

// Splits a chain into payloads (for mutation); stops at the first inconsistency.
std::vector<Raw> splitChain(Bytes chain, uint8_t first) {
  std::vector<Raw> out;
  size_t at = 0;
  uint8_t type = first;
  while (type != kNoNext && at + 4 <= chain.size()) {
    size_t len = static_cast<size_t>(chain[at + 2]) << 8 | chain[at + 3];
    if (len < 4 || at + len > chain.size()) break;
    Raw r;
    r.type = type;
    r.flags = chain[at + 1];
    r.body.assign(chain.begin() + at + 4, chain.begin() + at + len);
    type = chain[at];
    at += len;
    out.push_back(std::move(r));
  }
  return out;
}

struct Header {
  uint64_t spiI = 0, spiR = 0;
  uint8_t exchange = kInit;
  uint8_t flags = kFlagInitiator;
  uint32_t messageId = 0;
  uint8_t version = kVersion2;
};

ByteVec encodeHeader(const Header& h, uint8_t next) {
  ByteVec v;
  putBe64(v, h.spiI);
  putBe64(v, h.spiR);
  v.push_back(next);
  v.push_back(h.version);
  v.push_back(h.exchange);
  v.push_back(h.flags);
  putBe32(v, h.messageId);
  putBe32(v, 0);
  return v;
}

// A plaintext message: header + chain, the Length field right unless `length` lies.
ByteVec plainMessage(const Header& h, const std::vector<Raw>& ps,
                     std::optional<uint32_t> length = std::nullopt) {
  ByteVec v = encodeHeader(h, ps.empty() ? kNoNext : ps[0].type);
  ByteVec c = encodeChain(ps);
  v.insert(v.end(), c.begin(), c.end());
  setBe32(v, 24, length.value_or(static_cast<uint32_t>(v.size())));
  return v;
}

// An SK-protected message around raw inner bytes (RFC 7296 3.14), sealed with `cipher`.
ByteVec skMessage(IkeCipher& cipher, const Header& h, uint8_t firstInner, Bytes inner) {
  ByteVec prefix = encodeHeader(h, kSk);
  auto sealed = sealMessage(cipher, prefix, firstInner, inner);
  return sealed ? std::move(sealed.value()) : ByteVec{};
}

Raw notifyRaw(uint16_t type, ByteVec data, uint8_t protocol = 0, ByteVec spi = {}) {
  NotifyPayload n;
  n.notifyType = type;
  n.data = std::move(data);
  n.protocol = static_cast<ProtocolId>(protocol);
  n.spi = std::move(spi);
  return Raw{static_cast<uint8_t>(PayloadType::kNotify), 0, bodyOf(n), std::nullopt};
}

// The established SA as the attacker drives it: our SPI, its SPI, the next request ID.
// Its ciphers are our own copies, so that nothing here depends on how long the SaManager
// keeps its IkeSa.
struct Session {
  std::shared_ptr<IkeCipher> out, in;
  bool natt = false;  // the SA floated to the NAT-T port (RFC 7296 2.23)
  uint64_t spiI = 0, spiR = 0;
  uint32_t nextId = 0;
  ByteVec lastLiveness;  // our last answered liveness check, resent to flush a path
  Header header(uint8_t exchange, uint32_t id, bool response = false) const {
    Header h;
    h.spiI = spiI;
    h.spiR = spiR;
    h.exchange = exchange;
    h.flags = static_cast<uint8_t>(kFlagInitiator | (response ? kFlagResponse : 0));
    h.messageId = id;
    return h;
  }
};

class Tool final : public DatagramSender, public SaListener {
 public:
  explicit Tool(const Options& o) : o_(o), rng_(o.seed) {}
  ~Tool() override {
    mgr_.reset();  // its SAs may still send through us
    for (int fd : {fd_, nattFd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  int run();

 private:
  // ---- plumbing ---------------------------------------------------------------------------
  bool openSocket();
  void sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) override;
  // On the NAT-T socket, behind the non-ESP marker (RFC 3948 2.2), when `natt`.
  void sendRaw(Bytes data, bool natt);
  void hostile(const std::string& category, Bytes data, const char* expect = nullptr);
  // Runs timers and feeds received datagrams until `done` or `ms` pass. Responses on the
  // attacked sessions are claimed by dispatch(), never fed to the SaManager.
  bool pump(int ms, const std::function<bool()>& done);
  void dispatch(Bytes d, bool natt);
  // The auth phase's own SAs give up on their held IKE_AUTH (peer not answering).
  void onFailure(const FailureEvent&) override { ++stat_["own_sa_failures"]; }

  // ---- sessions -----------------------------------------------------------------------------
  IkeSa* initiate();
  std::optional<Session> sessionOf(IkeSa* sa, uint32_t nextId);
  std::optional<Session> establish(bool record);
  // Sends `msg` (a request at the session's next ID) and waits for its answer, sending it
  // up to `tries` times (a retransmission is answered from the cache, RFC 7296 2.1); true if
  // answered. `decrypts`: the answer must decrypt with the SA's keys.
  bool request(Session& s, Bytes msg, bool decrypts = false, int tries = 1);
  // Resends the last liveness check on one port: braidd answers it from its response cache
  // (RFC 7296 2.1) without any state change, once everything sent before on that port
  // was handled (port 4500 goes through the data plane, so the two ports may reorder).
  bool flush(Session& s, bool natt);
  // RFC 7296 1.4 liveness check: an empty INFORMATIONAL request.
  bool liveness(Session& s);
  // Every 32 hostile datagrams: a liveness check that must succeed (deterministic phases).
  void barrier(Session& s, bool mustAnswer);
  ByteVec skRequest(Session& s, uint8_t exchange, uint32_t id, const std::vector<Raw>& inner,
                    bool response = false);

  // ---- phases -------------------------------------------------------------------------------
  void plainPhase(Session& s);
  void skDeterministicPhase(Session& s);
  void skFuzzPhase(Session& s);
  void authPhase();
  void replayPhase(Session& s, Session& control);

  // ---- content ------------------------------------------------------------------------------
  std::vector<Raw> initPayloads();
  std::vector<Raw> childPayloads(bool ikeRekey);
  std::vector<Raw> infoPayloads();
  void mutate(std::vector<Raw>& ps);
  ByteVec mutateBytes(ByteVec v);
  ByteVec randomSpi() { return rng_.bytes(4); }
  uint64_t freshSpi() { return rng_.u64() | 1; }

  const Options& o_;
  Rng rng_;
  int fd_ = -1, nattFd_ = -1;
  sockaddr_storage remoteAddr_{}, remoteNatt_{};
  socklen_t remoteLen_ = 0;
  IpAddress localIp_, remoteIp_;
  SteadyClock clock_;
  TimerQueue timers_;
  std::unique_ptr<SaManager> mgr_;

  std::map<std::string, uint64_t> sent_;  // category -> datagrams
  std::map<std::string, uint64_t> stat_;  // outcomes
  bool failed_ = false;
  uint32_t sinceBarrier_ = 0;

  // Recording (the legitimate exchange) and the replay pool.
  bool recording_ = false;
  std::vector<ByteVec> recorded_;
  std::vector<ByteVec> skSent_;  // SK datagrams we built (replayed later)

  // Waiting for the answer to one request.
  struct Awaited {
    uint64_t spiI = 0;
    uint32_t id = 0;
    bool answered = false;
    ByteVec response;
  };
  std::optional<Awaited> awaited_;
  std::vector<uint64_t> sessions_;  // our SPIs whose responses we claim

  // Auth phase: our IKE_AUTH request is held back and replaced by a mutated one.
  uint64_t lastInitSpi_ = 0;
  bool holdAuth_ = false;
  std::map<uint64_t, ByteVec> heldAuth_;  // by our SPI

  // Half-open SAs (responder SPI known) for the plaintext phase.
  std::vector<std::pair<uint64_t, uint64_t>> halfOpen_;
  // Our recent IKE_SA_INIT requests by SPIi, to answer a COOKIE challenge (RFC 7296 2.6)
  // like an attacker that sees the replies would: what gets past the defences reaches the
  // tasks.
  std::map<uint64_t, std::pair<ByteVec, bool>> inits_;  // request, natt
  void answerCookie(uint64_t spiI, const NotifyPayload& cookie);
};

bool Tool::openSocket() {
  auto l = IpAddress::parse(o_.local);
  auto r = IpAddress::parse(o_.remote);
  if (!l || !r || l->isV4() != r->isV4()) return false;
  localIp_ = *l;
  remoteIp_ = *r;
  sockaddr_storage local{};
  socklen_t localLen = 0;
  auto fill = [](const IpAddress& a, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
    if (a.isV4()) {
      auto* s = reinterpret_cast<sockaddr_in*>(&ss);
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      std::memcpy(&s->sin_addr, a.bytes().data(), 4);
      len = sizeof(sockaddr_in);
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
      s->sin6_family = AF_INET6;
      s->sin6_port = htons(port);
      std::memcpy(&s->sin6_addr, a.bytes().data(), 16);
      len = sizeof(sockaddr_in6);
    }
  };
  fill(*r, o_.remotePort, remoteAddr_, remoteLen_);
  fill(*r, o_.remoteNattPort, remoteNatt_, remoteLen_);
  for (auto [fd, port] : {std::pair{&fd_, o_.port}, std::pair{&nattFd_, o_.nattPort}}) {
    fill(*l, port, local, localLen);
    *fd = ::socket(l->isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0) return false;
    int one = 1;
    (void)::setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(*fd, reinterpret_cast<sockaddr*>(&local), localLen) != 0) {
      std::fprintf(stderr, "ike-hostile: bind %s port %u: %s\n", o_.local.c_str(), port,
                   std::strerror(errno));
      return false;
    }
  }
  return true;
}

void Tool::sendRaw(Bytes data, bool natt) {
  ByteVec marked;
  if (natt) {
    marked.assign(4, 0);
    marked.insert(marked.end(), data.begin(), data.end());
    data = marked;
  }
  for (int tries = 0; tries < 100; ++tries) {
    ssize_t n =
        ::sendto(natt ? nattFd_ : fd_, data.data(), data.size(), 0,
                 reinterpret_cast<const sockaddr*>(natt ? &remoteNatt_ : &remoteAddr_), remoteLen_);
    if (n >= 0) return;
    if (errno != EAGAIN && errno != ENOBUFS) break;
    pump(1, [] { return false; });
  }
  ++stat_["send_errors"];
}

// The SaManager's own datagrams (the legitimate side).
void Tool::sendDatagram(const Endpoint& local, const Endpoint&, Bytes data) {
  if (holdAuth_ && data.size() > 28 && data[18] == kAuth && (data[19] & kFlagResponse) == 0) {
    // The auth phase sends a mutation instead (and no retransmission of ours, ever).
    heldAuth_[getBe64(data, 0)] = ByteVec(data.begin(), data.end());
    return;
  }
  if (data.size() > 28 && data[18] == kInit && (data[19] & kFlagResponse) == 0) {
    lastInitSpi_ = getBe64(data, 0);
  }
  if (recording_) recorded_.emplace_back(data.begin(), data.end());
  ++sent_["legit"];
  sendRaw(data, local.port == kNattPort);
}

// Half of it to port 500, half to the NAT-T port, where braidd's data plane passes datagrams
// with the non-ESP marker to IKE; a datagram too short for an IKE header is its drop there
// (rx.drop.invalid), not IKE's.
void Tool::hostile(const std::string& category, Bytes data, const char* expect) {
  bool natt = rng_.chance(50);
  if (data.size() >= kIkeHeaderLength && data[18] == kInit && (data[19] & kFlagResponse) == 0) {
    if (inits_.size() >= 256) inits_.erase(inits_.begin());
    inits_[getBe64(data, 0)] = {ByteVec(data.begin(), data.end()), natt};
  }
  ++sent_[category];
  if (natt && data.size() < kIkeHeaderLength) {
    ++stat_["expect.rx_invalid"];
  } else if (expect != nullptr) {
    ++stat_[std::string("expect.drop.") + expect];
  }
  sendRaw(data, natt);
  ++sinceBarrier_;
}

void Tool::dispatch(Bytes d, bool natt) {
  if (natt) {
    if (d.size() < 4 || getBe32(d, 0) != 0) {
      ++stat_["received.esp"];
      return;
    }
    d = d.subspan(4);
  }
  if (recording_) recorded_.emplace_back(d.begin(), d.end());
  ++stat_["received"];
  if (d.size() >= 28 && (d[19] & kFlagResponse) != 0) {
    uint64_t spiI = getBe64(d, 0);
    uint32_t id = getBe32(d, 20);
    if (awaited_ && awaited_->spiI == spiI && awaited_->id == id && d[18] != kInit) {
      awaited_->answered = true;
      awaited_->response.assign(d.begin(), d.end());
      return;
    }
    if (std::find(sessions_.begin(), sessions_.end(), spiI) != sessions_.end()) {
      ++stat_["received.stale_response"];  // e.g. the answer to a request we stopped waiting for
      return;
    }
    if (d[18] == kInit && inits_.count(spiI) != 0) {
      Message m;
      if (!m.parse(d)) {
        if (const NotifyPayload* c = m.notify(notify::kCookie)) return answerCookie(spiI, *c);
      }
    }
    if (d[18] == kInit && getBe64(d, 8) != 0) {
      // An answer to one of our crafted IKE_SA_INIT requests: a half-open SA on braidd.
      if (halfOpen_.size() < 64) halfOpen_.emplace_back(spiI, getBe64(d, 8));
    }
  }
  uint16_t port = natt ? kNattPort : kIkePort;
  mgr_->receive(Endpoint{localIp_, port}, Endpoint{remoteIp_, port}, d);
}

// The same request again with N(COOKIE) first (RFC 7296 2.6), once.
void Tool::answerCookie(uint64_t spiI, const NotifyPayload& cookie) {
  auto it = inits_.find(spiI);
  if (it == inits_.end()) return;
  auto [req, natt] = std::move(it->second);
  inits_.erase(it);
  ++stat_["cookies_answered"];
  ++sinceBarrier_;
  Raw n = notifyRaw(notify::kCookie, cookie.data);
  ByteVec v(req.begin(), req.begin() + kIkeHeaderLength);
  v[16] = static_cast<uint8_t>(PayloadType::kNotify);
  v.push_back(req[16]);  // the notify's next payload: the request's first one
  v.push_back(0);
  putBe16(v, static_cast<uint16_t>(n.body.size() + 4));
  v.insert(v.end(), n.body.begin(), n.body.end());
  v.insert(v.end(), req.begin() + kIkeHeaderLength, req.end());
  setBe32(v, 24, static_cast<uint32_t>(v.size()));
  sendRaw(v, natt);
}

bool Tool::pump(int ms, const std::function<bool()>& done) {
  const TimePoint end = clock_.now() + std::chrono::milliseconds(ms);
  std::vector<uint8_t> buf(65536);
  for (;;) {
    timers_.runUntil(clock_.now());
    if (done()) return true;
    TimePoint now = clock_.now();
    if (now >= end) return false;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
    if (auto next = timers_.nextDeadline()) {
      auto t = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count();
      wait = std::min<long long>(wait, std::max<long long>(t, 0));
    }
    pollfd p[2] = {{fd_, POLLIN, 0}, {nattFd_, POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(std::max<long long>(wait, 1))) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      for (;;) {
        ssize_t n = ::recv(p[i].fd, buf.data(), buf.size(), 0);
        if (n < 0) break;
        dispatch(Bytes(buf.data(), static_cast<size_t>(n)), i == 1);
        if (done()) return true;
      }
    }
  }
}

// Starts an IKE SA through the SaManager; its SPI is the one of the IKE_SA_INIT just sent.
IkeSa* Tool::initiate() {
  lastInitSpi_ = 0;
  if (!mgr_->initiate(kPeer, Endpoint{localIp_, kIkePort}) || lastInitSpi_ == 0) return nullptr;
  return mgr_->findBySpi(lastInitSpi_);
}

// Our copy of an IKE SA's ciphers. AEAD IVs count from 2^40, far from the SaManager's own
// counter under the same key (RFC 5282 3.1: an IV never repeats under one key).
std::optional<Session> Tool::sessionOf(IkeSa* sa, uint32_t nextId) {
  auto pair = createIkeCiphers(sa->suite, sa->keys, true);
  if (!pair) return std::nullopt;
  Session s;
  s.out = std::move(pair->outbound);
  s.in = std::move(pair->inbound);
  auto counter = std::make_shared<uint64_t>(uint64_t{1} << 40);
  s.out->setIvGenerator([this, counter](MutableBytes iv) {
    if (iv.size() != 8) {
      ByteVec r = rng_.bytes(iv.size());  // CBC: unpredictable (RFC 7296 3.14)
      std::copy(r.begin(), r.end(), iv.begin());
      return;
    }
    uint64_t c = (*counter)++;
    for (int i = 0; i < 8; ++i) iv[i] = static_cast<uint8_t>(c >> (56 - 8 * i));
  });
  s.natt = sa->local().port == kNattPort;
  s.spiI = sa->spiI();
  s.spiR = sa->spiR();
  s.nextId = nextId;
  sessions_.push_back(s.spiI);
  return s;
}

std::optional<Session> Tool::establish(bool record) {
  recording_ = record;
  IkeSa* sa = initiate();
  const uint64_t spi = lastInitSpi_;
  bool up =
      sa != nullptr && pump(5000, [&] {
        sa = mgr_->findBySpi(spi);
        return sa != nullptr && sa->state() == IkeSaState::kEstablished && !sa->children().empty();
      });
  recording_ = false;
  if (!up) return std::nullopt;
  ++stat_["sessions"];
  auto session = sessionOf(sa, sa->tasks().nextRequestId());
  if (session && !liveness(*session)) return std::nullopt;
  return session;
}

bool Tool::request(Session& s, Bytes msg, bool decrypts, int tries) {
  awaited_ = Awaited{s.spiI, getBe32(msg, 20), false, {}};
  bool ok = false;
  for (int i = 0; i < tries && !ok; ++i) {
    sendRaw(msg, s.natt);
    ok = pump(o_.timeoutMs, [&] { return awaited_->answered; });
  }
  if (ok && decrypts) {
    Message m;
    ok = !m.parse(awaited_->response) && !m.decrypt(*s.in) && m.header.response();
  }
  if (awaited_->answered) ++s.nextId;  // the responder took this ID (RFC 7296 2.2)
  awaited_.reset();
  return ok;
}

bool Tool::flush(Session& s, bool natt) {
  if (s.lastLiveness.empty()) return true;
  awaited_ = Awaited{s.spiI, getBe32(s.lastLiveness, 20), false, {}};
  bool ok = false;
  for (int i = 0; i < 3 && !ok; ++i) {  // a slow responder is no lost state
    sendRaw(s.lastLiveness, natt);
    ok = pump(o_.timeoutMs, [&] { return awaited_->answered; });
  }
  awaited_.reset();
  return ok;
}

bool Tool::liveness(Session& s) {
  ByteVec msg = skMessage(*s.out, s.header(kInfo, s.nextId), kNoNext, {});
  if (!request(s, msg, true, 3)) return false;
  s.lastLiveness = std::move(msg);
  return true;
}

void Tool::barrier(Session& s, bool mustAnswer) {
  if (sinceBarrier_ < 32) return;
  sinceBarrier_ = 0;
  ++stat_["liveness_checks"];
  bool f500 = flush(s, false), f4500 = flush(s, true), live = liveness(s);
  if (live && f500 && f4500) return;
  ++stat_["liveness_lost"];
  std::fprintf(stderr,
               "ike-hostile: SA %016llx: cached answer on port 500 %s, on 4500 %s; liveness "
               "check %s\n",
               static_cast<unsigned long long>(s.spiI), f500 ? "yes" : "no", f4500 ? "yes" : "no",
               live ? "answered" : "not answered");
  if (mustAnswer) {
    std::fprintf(stderr,
                 "ike-hostile: liveness check %u not answered: the responder lost the SA "
                 "or its message ID/keys changed\n",
                 s.nextId);
    failed_ = true;
  }
}

ByteVec Tool::skRequest(Session& s, uint8_t exchange, uint32_t id, const std::vector<Raw>& inner,
                        bool response) {
  ByteVec chain = encodeChain(inner);
  return skMessage(*s.out.get(), s.header(exchange, id, response),
                   inner.empty() ? kNoNext : inner[0].type, chain);
}

// ---- content ------------------------------------------------------------------------------

std::vector<Raw> Tool::initPayloads() {
  const PeerConfig* pc = mgr_->peer(kPeer);
  SaPayload sa;
  sa.proposals = pc->ikeProposals;
  DhGroup group = DhGroup::kCurve25519;
  for (auto& t : sa.proposals[0].ofType(TransformType::kKe)) {
    group = static_cast<DhGroup>(t.id);
    break;
  }
  KePayload ke;
  ke.group = static_cast<uint16_t>(group);
  if (auto kx = KeyExchange::create(group)) {
    auto pub = (*kx)->publicValue();
    ke.data.assign(pub.begin(), pub.end());
  }
  NoncePayload ni;
  ni.data = rng_.bytes(32);
  return {Raw{static_cast<uint8_t>(PayloadType::kSa), 0, bodyOf(sa), std::nullopt},
          Raw{static_cast<uint8_t>(PayloadType::kKe), 0, bodyOf(ke), std::nullopt},
          Raw{static_cast<uint8_t>(PayloadType::kNonce), 0, bodyOf(ni), std::nullopt}};
}

// CREATE_CHILD_SA (RFC 7296 1.3.1): SA, Ni, [KEi], TSi, TSr; or an IKE rekey (1.3.2).
std::vector<Raw> Tool::childPayloads(bool ikeRekey) {
  const PeerConfig* pc = mgr_->peer(kPeer);
  std::vector<Raw> out;
  SaPayload sa;
  if (ikeRekey) {
    sa.proposals = pc->ikeProposals;
    for (auto& p : sa.proposals) p.spi = rng_.bytes(8);
  } else {
    sa.proposals = pc->children[0].espProposals;
    for (auto& p : sa.proposals) p.spi = randomSpi();
  }
  out.push_back(Raw{static_cast<uint8_t>(PayloadType::kSa), 0, bodyOf(sa), std::nullopt});
  NoncePayload ni;
  ni.data = rng_.bytes(32);
  out.push_back(Raw{static_cast<uint8_t>(PayloadType::kNonce), 0, bodyOf(ni), std::nullopt});
  if (ikeRekey || rng_.chance(30)) {
    KePayload ke;
    ke.group = static_cast<uint16_t>(DhGroup::kCurve25519);
    ke.data = rng_.bytes(rng_.chance(80) ? 32 : rng_.below(80));
    out.push_back(Raw{static_cast<uint8_t>(PayloadType::kKe), 0, bodyOf(ke), std::nullopt});
  }
  if (!ikeRekey) {
    TsPayload tsi, tsr;
    tsi.selectors = pc->children[0].localTs;
    tsr.selectors = pc->children[0].remoteTs;
    out.push_back(Raw{static_cast<uint8_t>(PayloadType::kTsi), 0, bodyOf(tsi), std::nullopt});
    out.push_back(Raw{static_cast<uint8_t>(PayloadType::kTsr), 0, bodyOf(tsr), std::nullopt});
  }
  return out;
}

// INFORMATIONAL (RFC 7296 1.4): Delete of ESP SPIs, notifies. Never Delete(IKE): the fuzz
// would only end its own SA.
std::vector<Raw> Tool::infoPayloads() {
  std::vector<Raw> out;
  switch (rng_.below(4)) {
    case 0: {
      DeletePayload d;
      d.protocol = ProtocolId::kEsp;
      for (uint32_t i = rng_.below(4); i > 0; --i)
        d.spis.push_back(static_cast<uint32_t>(rng_.u64()));
      out.push_back(Raw{static_cast<uint8_t>(PayloadType::kDelete), 0, bodyOf(d), std::nullopt});
      break;
    }
    case 1:
      out.push_back(notifyRaw(static_cast<uint16_t>(rng_.below(65536)), rng_.bytes(rng_.below(40)),
                              static_cast<uint8_t>(rng_.below(4)),
                              rng_.chance(50) ? randomSpi() : ByteVec{}));
      break;
    case 2: {
      CpPayload cp;
      cp.attributes.push_back(CpAttribute{static_cast<uint16_t>(rng_.below(32)), rng_.bytes(4)});
      out.push_back(Raw{static_cast<uint8_t>(PayloadType::kCp), 0, bodyOf(cp), std::nullopt});
      break;
    }
    default:
      out.push_back(notifyRaw(notify::kRekeySa, {}, 3, randomSpi()));
      break;
  }
  return out;
}

ByteVec Tool::mutateBytes(ByteVec v) {
  switch (rng_.below(4)) {
    case 0:  // bit flips
      for (uint32_t i = 1 + rng_.below(4); i > 0 && !v.empty(); --i) {
        v[rng_.below(static_cast<uint32_t>(v.size()))] ^= static_cast<uint8_t>(1u << rng_.below(8));
      }
      break;
    case 1:  // truncate
      v.resize(rng_.below(static_cast<uint32_t>(v.size()) + 1));
      break;
    case 2: {  // random bytes appended
      ByteVec tail = rng_.bytes(1 + rng_.below(16));
      v.insert(v.end(), tail.begin(), tail.end());
      break;
    }
    default:  // interesting values
      if (!v.empty()) {
        static constexpr uint8_t kVals[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x04};
        v[rng_.below(static_cast<uint32_t>(v.size()))] = kVals[rng_.below(6)];
      }
      break;
  }
  return v;
}

// Payload-level mutations of a chain: the bugs of issue 11 were missing payloads.
void Tool::mutate(std::vector<Raw>& ps) {
  uint32_t rounds = 1 + rng_.below(3);
  for (uint32_t i = 0; i < rounds; ++i) {
    uint32_t n = static_cast<uint32_t>(ps.size());
    switch (rng_.below(9)) {
      case 0:  // drop a payload (a mandatory one, often)
        if (n > 0) ps.erase(ps.begin() + rng_.below(n));
        break;
      case 1:  // duplicate one
        if (n > 0) ps.push_back(ps[rng_.below(n)]);
        break;
      case 2:  // mutate a body
        if (n > 0) {
          Raw& r = ps[rng_.below(n)];
          r.body = mutateBytes(std::move(r.body));
        }
        break;
      case 3:  // lie about a length
        if (n > 0) {
          Raw& r = ps[rng_.below(n)];
          static constexpr int kDelta[] = {-5, -4, -1, 1, 3, 1000};
          int len = static_cast<int>(r.body.size()) + 4 + kDelta[rng_.below(6)];
          r.length = static_cast<uint16_t>(std::clamp(len, 0, 65535));
        }
        break;
      case 4:  // unknown payload, critical or not (RFC 7296 2.5)
        ps.insert(ps.begin() + rng_.below(n + 1),
                  Raw{static_cast<uint8_t>(49 + rng_.below(200)),
                      static_cast<uint8_t>(rng_.chance(50) ? kCriticalBit : 0),
                      rng_.bytes(rng_.below(24)), std::nullopt});
        break;
      case 5:  // a payload of another known type with a random body
        ps.insert(ps.begin() + rng_.below(n + 1), Raw{static_cast<uint8_t>(33 + rng_.below(16)), 0,
                                                      rng_.bytes(rng_.below(48)), std::nullopt});
        break;
      case 6:  // swap two
        if (n > 1) std::swap(ps[rng_.below(n)], ps[rng_.below(n)]);
        break;
      case 7:  // change a payload's type
        if (n > 0) ps[rng_.below(n)].type = static_cast<uint8_t>(33 + rng_.below(16));
        break;
      default:  // empty chain
        if (rng_.chance(20)) ps.clear();
        break;
    }
  }
}

// ---- phases -------------------------------------------------------------------------------

void Tool::plainPhase(Session& s) {
  // Half-open SAs on braidd: valid IKE_SA_INIT requests from fresh SPIs.
  for (int i = 0; i < 8; ++i) {
    Header h;
    h.spiI = freshSpi();
    hostile("plain.init_valid", plainMessage(h, initPayloads()));
  }
  pump(o_.timeoutMs, [&] { return halfOpen_.size() >= 8; });

  for (uint32_t n = 0; n < o_.plain; ++n) {
    Header h;
    h.spiI = freshSpi();
    switch (rng_.below(16)) {
      case 0: {  // random bytes
        ByteVec v = rng_.bytes(1 + rng_.below(400));
        hostile("plain.random", v, v.size() < 28 ? "malformed" : nullptr);
        break;
      }
      case 1: {  // truncated IKE header (RFC 7296 3.1: 28 bytes)
        ByteVec v = plainMessage(h, initPayloads());
        v.resize(1 + rng_.below(27));
        hostile("plain.truncated_header", v, "malformed");
        break;
      }
      case 2: {  // a header whose Length field is wrong
        ByteVec v = plainMessage(h, initPayloads());
        static constexpr int kDelta[] = {-1, 1, -28, 100, 65536};
        int64_t len = static_cast<int64_t>(v.size()) + kDelta[rng_.below(5)];
        if (rng_.chance(50))
          v.resize(v.size() - 1 - rng_.below(static_cast<uint32_t>(v.size() - 28)));
        setBe32(v, 24, static_cast<uint32_t>(std::max<int64_t>(len, 0)));
        if (getBe32(v, 24) == v.size()) setBe32(v, 24, static_cast<uint32_t>(v.size() + 1));
        h.exchange = static_cast<uint8_t>(kInit + rng_.below(4));
        v[18] = h.exchange;
        hostile("plain.bad_length", v, "malformed");
        break;
      }
      case 3: {  // IKE_SA_INIT with one payload of each type with a bad length
        auto ps = initPayloads();
        ps.insert(ps.begin() + rng_.below(4), Raw{static_cast<uint8_t>(33 + rng_.below(16)), 0,
                                                  rng_.bytes(rng_.below(40)), std::nullopt});
        Raw& r = ps[rng_.below(static_cast<uint32_t>(ps.size()))];
        static constexpr uint16_t kLens[] = {0, 1, 3, 4, 5, 0xffff};
        r.length = rng_.chance(50) ? kLens[rng_.below(6)]
                                   : static_cast<uint16_t>(r.body.size() + 4 + 1 + rng_.below(8));
        hostile("plain.payload_bad_length", plainMessage(h, ps));
        break;
      }
      case 4: {  // IKE_SA_INIT with only a notify: issue 11's 52-byte crash
        uint16_t type =
            rng_.chance(50)
                ? notify::kCookie
                : static_cast<uint16_t>(rng_.chance(50) ? rng_.below(16384) : rng_.below(65536));
        ByteVec data = rng_.bytes(rng_.chance(50) ? 16 : rng_.below(64));
        hostile("plain.init_notify_only", plainMessage(h, {notifyRaw(type, data)}));
        break;
      }
      case 5: {  // IKE_SA_INIT without SA, KE or Ni
        auto ps = initPayloads();
        uint32_t mask = 1 + rng_.below(7);  // which of SA/KE/Ni to drop
        std::vector<Raw> kept;
        for (uint32_t i = 0; i < 3; ++i) {
          if ((mask & (1u << i)) == 0) kept.push_back(ps[i]);
        }
        if (rng_.chance(30))
          kept.push_back(notifyRaw(notify::kNatDetectionSourceIp, rng_.bytes(20)));
        hostile("plain.init_missing", plainMessage(h, kept));
        break;
      }
      case 6: {  // unknown critical payload (RFC 7296 2.5)
        auto ps = initPayloads();
        ps.insert(ps.begin() + rng_.below(4), Raw{static_cast<uint8_t>(49 + rng_.below(200)),
                                                  kCriticalBit, rng_.bytes(8), std::nullopt});
        hostile("plain.unknown_critical", plainMessage(h, ps));
        break;
      }
      case 7: {  // plaintext INFORMATIONAL / CREATE_CHILD_SA with the established SA's SPIs
        uint8_t x = rng_.chance(50) ? kInfo : kChild;
        auto ps = x == kInfo ? infoPayloads() : childPayloads(false);
        hostile("plain.unprotected_established",
                plainMessage(s.header(x, s.nextId + rng_.below(3) - 1), ps), "unprotected");
        break;
      }
      case 8: {  // plaintext IKE_AUTH / IKE_SA_INIT with the established SA's SPIs
        bool auth = rng_.chance(50);
        std::vector<Raw> ps = auth ? std::vector<Raw>{} : initPayloads();
        if (auth) {
          IdPayload id;
          id.data = rng_.bytes(8);
          AuthPayload a;
          a.data = rng_.bytes(32);
          ps = {Raw{static_cast<uint8_t>(PayloadType::kIdi), 0, bodyOf(id), std::nullopt},
                Raw{static_cast<uint8_t>(PayloadType::kAuth), 0, bodyOf(a), std::nullopt}};
        }
        hostile(auth ? "plain.auth_on_established" : "plain.init_on_established",
                plainMessage(s.header(auth ? kAuth : kInit, auth ? 1 : 0), ps), "state");
        break;
      }
      case 9: {  // plaintext exchanges on a half-open SA
        if (halfOpen_.empty()) break;
        auto [spiI, spiR] = halfOpen_[rng_.below(static_cast<uint32_t>(halfOpen_.size()))];
        Header hh;
        hh.spiI = spiI;
        hh.spiR = spiR;
        static constexpr uint8_t kX[] = {kInit, kAuth, kChild, kInfo};
        hh.exchange = kX[rng_.below(4)];
        hh.messageId = hh.exchange == kInit ? 0 : rng_.below(3);
        std::vector<Raw> ps = hh.exchange == kInit ? initPayloads() : infoPayloads();
        hostile("plain.on_half_open", plainMessage(hh, ps));
        break;
      }
      case 10: {  // responses with random SPIs
        Header hh;
        hh.spiI = freshSpi();
        hh.spiR = freshSpi();
        hh.exchange = static_cast<uint8_t>(kInit + rng_.below(4));
        hh.flags = static_cast<uint8_t>(kFlagResponse | (rng_.chance(50) ? kFlagInitiator : 0));
        hh.messageId = rng_.below(4);
        hostile("plain.response_random_spi",
                plainMessage(hh, {notifyRaw(rng_.below(65536) & 0x3fff, {})}), "unknown_spi");
        break;
      }
      case 11: {  // requests with random SPIs (both set), plaintext or SK-shaped
        Header hh;
        hh.spiI = freshSpi();
        hh.spiR = freshSpi();
        hh.exchange = static_cast<uint8_t>(kAuth + rng_.below(3));
        hh.messageId = rng_.below(4);
        ByteVec v = plainMessage(hh, {Raw{kSk, 0, rng_.bytes(16 + rng_.below(64)), std::nullopt}});
        hostile("plain.request_random_spi", v, "unknown_spi");
        break;
      }
      case 12: {  // another major version (RFC 7296 2.5)
        h.version = static_cast<uint8_t>((3 + rng_.below(13)) << 4);
        hostile("plain.bad_version", plainMessage(h, initPayloads()));
        break;
      }
      case 13: {  // the recorded legitimate datagrams, mutated
        if (recorded_.empty()) break;
        hostile("plain.mutated_legit",
                mutateBytes(recorded_[rng_.below(static_cast<uint32_t>(recorded_.size()))]));
        break;
      }
      case 14: {  // IKE_SA_INIT with a mutated payload chain
        auto ps = initPayloads();
        mutate(ps);
        hostile("plain.init_mutated", plainMessage(h, ps));
        break;
      }
      default: {  // SK-protected-looking responses on the established SA: no request is in flight
        ByteVec v = plainMessage(s.header(kInfo, rng_.below(8), true),
                                 {Raw{kSk, 0, rng_.bytes(40), std::nullopt}});
        hostile("plain.response_established", v);
        break;
      }
    }
    barrier(s, true);
  }
}

void Tool::skDeterministicPhase(Session& s) {
  for (uint32_t n = 0; n < o_.sk / 2; ++n) {
    switch (rng_.below(7)) {
      case 0: {  // wrong message IDs (RFC 7296 2.2): ahead of the window, or far behind
        uint32_t id = rng_.chance(70) ? s.nextId + 1 + rng_.below(1000)
                                      : (s.nextId >= 2 ? rng_.below(s.nextId - 1) : s.nextId + 7);
        ByteVec v = skRequest(s, rng_.chance(50) ? kInfo : kChild, id,
                              rng_.chance(50) ? infoPayloads() : std::vector<Raw>{});
        skSent_.push_back(v);
        hostile("sk.wrong_message_id", v, "message_id");
        break;
      }
      case 1: {  // bad ICV at the expected ID (RFC 7296 2.21.2: dropped silently)
        ByteVec v = skRequest(s, kInfo, s.nextId, infoPayloads());
        size_t at = 28 + 4 + rng_.below(static_cast<uint32_t>(v.size() - 32));
        v[at] ^= static_cast<uint8_t>(1u << rng_.below(8));
        hostile("sk.bad_icv", v, "integrity");
        break;
      }
      case 2: {  // truncated SK body at the expected ID: the lengths no longer add up
        ByteVec v = skRequest(s, kInfo, s.nextId, infoPayloads());
        v.resize(v.size() - 1 - rng_.below(static_cast<uint32_t>(v.size() - 28)));
        hostile("sk.truncated", v, "malformed");
        break;
      }
      case 3: {  // SK-protected IKE_AUTH on the established SA (strongSwan: only CONNECTING)
        IdPayload id;
        id.data = rng_.bytes(8);
        AuthPayload a;
        a.data = rng_.bytes(32);
        ByteVec v =
            skRequest(s, kAuth, rng_.chance(50) ? 1 : s.nextId,
                      {Raw{static_cast<uint8_t>(PayloadType::kIdi), 0, bodyOf(id), std::nullopt},
                       Raw{static_cast<uint8_t>(PayloadType::kAuth), 0, bodyOf(a), std::nullopt}});
        skSent_.push_back(v);
        hostile("sk.auth_on_established", v, "state");
        break;
      }
      case 4: {  // SK-protected IKE_SA_INIT on the established SA
        ByteVec v = skRequest(s, kInit, 0, initPayloads());
        hostile("sk.init_on_established", v, "state");
        break;
      }
      case 5: {  // SK-protected responses: we have no request of braidd's in flight
        ByteVec v = skRequest(s, rng_.chance(50) ? kInfo : kChild, rng_.below(8), {}, true);
        hostile("sk.unsolicited_response", v, "message_id");
        break;
      }
      default: {  // a plaintext INFORMATIONAL at the expected ID
        hostile("sk.plaintext_info", plainMessage(s.header(kInfo, s.nextId), infoPayloads()),
                "unprotected");
        break;
      }
    }
    barrier(s, true);
  }
}

void Tool::skFuzzPhase(Session& s) {
  uint32_t lost = 0;
  for (uint32_t n = 0; n < o_.sk - o_.sk / 2; ++n) {
    uint32_t kind = rng_.below(5);
    std::vector<Raw> ps;
    ByteVec v;
    const char* category = "sk.mutated_info";
    if (kind <= 1) {
      ps = childPayloads(kind == 1);
      category = kind == 1 ? "sk.mutated_ike_rekey" : "sk.mutated_child";
      // Missing mandatory payloads: drop one of SA, Ni, KE, TSi, TSr half of the time, and
      // always for an IKE SA rekey: braidd accepts a valid one (RFC 7296 1.3.2) and then
      // waits for us, its initiator, to delete the old SA, which this tool does not do.
      if ((kind == 1 || rng_.chance(50)) && !ps.empty()) {
        ps.erase(ps.begin() + rng_.below(static_cast<uint32_t>(ps.size())));
        category = "sk.missing_mandatory";
      } else {
        mutate(ps);
      }
      v = skRequest(s, kChild, s.nextId, ps);
    } else if (kind == 2) {
      ps = infoPayloads();
      mutate(ps);
      v = skRequest(s, kInfo, s.nextId, ps);
    } else {
      // Random bytes as the whole inner chain, behind a random first payload type.
      ByteVec inner = rng_.bytes(rng_.below(120));
      uint8_t first = static_cast<uint8_t>(rng_.chance(80) ? 33 + rng_.below(16) : rng_.below(256));
      v = skMessage(*s.out.get(), s.header(rng_.chance(50) ? kInfo : kChild, s.nextId), first,
                    inner);
      category = "sk.random_chain";
    }
    ++sent_[category];
    skSent_.push_back(v);
    // Every SK request with our keys is answered (INVALID_SYNTAX at worst); silence means
    // the SA is gone or was rekeyed by a mutation that was a valid IKE SA rekey (RFC 7296
    // 1.3.2): check at once instead of waiting out the timeout of 32 more requests.
    const bool answered = request(s, v);
    if (answered) ++stat_["sk.answered"];
    if (answered && ++sinceBarrier_ < 32) continue;
    sinceBarrier_ = 0;
    ++stat_["liveness_checks"];
    if (liveness(s)) continue;
    // A mutation the responder took as a valid request may have ended or rekeyed the SA.
    ++stat_["sk.sa_lost"];
    if (++lost > 20) break;
    auto fresh = establish(false);
    if (!fresh) {
      std::fprintf(stderr, "ike-hostile: cannot re-establish the IKE SA\n");
      failed_ = true;
      return;
    }
    s = *fresh;
  }
}

// Half-open SAs whose IKE_AUTH request is replaced by a mutation of the real one: these
// reach the responder's IKE_AUTH task with payloads missing, duplicated or damaged.
void Tool::authPhase() {
  uint32_t setupFailures = 0;
  for (uint32_t n = 0; n < o_.auth; ++n) {
    holdAuth_ = true;
    IkeSa* sa = initiate();
    const uint64_t spi = lastInitSpi_;
    if (sa == nullptr || !pump(o_.timeoutMs * 4, [&] {
          sa = mgr_->findBySpi(spi);
          return sa != nullptr && heldAuth_.count(spi) != 0;
        })) {
      ++stat_["auth.setup_failed"];
      if (++setupFailures > 5) break;
      continue;
    }
    // Our SA keeps retransmitting the held request (never sent) until it gives up.
    ByteVec held = heldAuth_[sa->spiI()];
    auto in = IkeCipher::create(sa->suite, sa->keys.skEi.bytes(), sa->keys.skAi.bytes());
    if (!in) break;
    auto inner = openMessage(**in, held, 28);
    if (!inner) {
      ++stat_["auth.open_failed"];
      continue;
    }
    std::vector<Raw> ps = splitChain(*inner, held[28]);
    const char* category = "auth.mutated";
    if (rng_.chance(40) && !ps.empty()) {
      // Without IDi, AUTH, SA, TSi or TSr (issue 11: null dereferences in the task).
      ps.erase(ps.begin() + rng_.below(static_cast<uint32_t>(ps.size())));
      category = "auth.missing_payload";
    } else {
      mutate(ps);
    }
    auto session = sessionOf(sa, 1);
    if (!session) break;
    Session& s = *session;
    ByteVec v = skRequest(s, kAuth, 1, ps);
    ByteVec bad = skRequest(s, kAuth, 1, ps);
    bad[bad.size() - 1 - rng_.below(16)] ^= 0x01;
    ++sent_[category];
    skSent_.push_back(v);
    if (request(s, v)) ++stat_["auth.answered"];
    // Then the same again (a replay), and one with a bad ICV, whatever state it left.
    hostile("auth.replayed", v);
    hostile("auth.bad_icv", bad);
  }
}

void Tool::replayPhase(Session& s, Session& control) {
  std::vector<ByteVec> pool = recorded_;
  pool.insert(pool.end(), skSent_.begin(), skSent_.end());
  if (pool.empty()) return;
  liveness(s);  // the fuzz phase's last answer is in braidd's cache: flush() needs ours
  for (uint32_t n = 0; n < o_.replay / 2; ++n) {
    ByteVec v = pool[rng_.below(static_cast<uint32_t>(pool.size()))];
    for (uint32_t k = rng_.chance(10) ? 5 : 1; k > 0; --k) hostile("replay.while_up", v);
    barrier(s, false);
  }
  // Delete the SA (RFC 7296 1.4.1), then replay again: nothing may come back to life.
  DeletePayload del;
  del.protocol = ProtocolId::kIke;
  ByteVec delBody = bodyOf(del);
  if (request(s, skRequest(s, kInfo, s.nextId,
                           {Raw{static_cast<uint8_t>(PayloadType::kDelete), 0, delBody,
                                std::nullopt}}))) {
    ++stat_["deleted"];
  }
  for (uint32_t n = 0; n < o_.replay - o_.replay / 2; ++n) {
    ByteVec v = pool[rng_.below(static_cast<uint32_t>(pool.size()))];
    hostile("replay.after_delete", v);
    barrier(control, false);  // paces the sender; this SA is not attacked
  }
  pump(200, [] { return false; });
}

int Tool::run() {
  if (!openSocket()) {
    std::fprintf(stderr, "ike-hostile: bad --local/--remote or socket error\n");
    return 2;
  }
  PeerConfig pc;
  pc.name = kPeer;
  pc.remote = Endpoint{remoteIp_, kIkePort};
  auto ike = parseProposals(o_.proposals, ProtocolId::kIke);
  auto esp = parseProposals(o_.espProposals, ProtocolId::kEsp);
  auto lid = Identity::parse(o_.localId);
  auto rid = Identity::parse(o_.remoteId);
  auto lts = IpPrefix::parse(o_.localTs);
  auto rts = IpPrefix::parse(o_.remoteTs);
  if (!ike || !esp || !lid || !rid || !lts || !rts || o_.psk.empty()) {
    std::fprintf(stderr, "ike-hostile: bad proposals, identities, selectors or PSK\n");
    return 2;
  }
  pc.ikeProposals = *ike;
  pc.localId = *lid;
  pc.remoteId = *rid;
  Bytes psk(reinterpret_cast<const uint8_t*>(o_.psk.data()), o_.psk.size());
  pc.localAuth.psk = SecretBytes(psk);
  pc.remoteAuth.psk = SecretBytes(psk);
  ChildConfig child;
  child.name = "hostile";
  child.espProposals = *esp;
  child.localTs.push_back(TrafficSelector::fromPrefix(*lts));
  child.remoteTs.push_back(TrafficSelector::fromPrefix(*rts));
  pc.children.push_back(child);
  pc.sendCertReq = false;
  pc.initialContact = false;  // our extra SAs must not tear down the one under attack
  pc.retransmit.initial = std::chrono::milliseconds(500);
  pc.retransmit.tries = 3;
  pc.retryInitial = Duration{};
  mgr_ = std::make_unique<SaManager>(clock_, timers_, *this, *this);
  if (!mgr_->addPeer(pc)) return 2;

  auto s = establish(true);
  if (!s) {
    std::fprintf(stderr, "ike-hostile: the legitimate IKE SA did not come up\n");
    return 1;
  }
  std::fprintf(stderr, "ike-hostile: IKE SA up (SPIs %016llx %016llx), %zu datagrams recorded\n",
               static_cast<unsigned long long>(s->spiI), static_cast<unsigned long long>(s->spiR),
               recorded_.size());
  // A second SA, never attacked: paces the sender once the first one is deleted.
  auto control = establish(false);
  if (!control) {
    std::fprintf(stderr, "ike-hostile: the control IKE SA did not come up\n");
    return 1;
  }
  plainPhase(*s);
  sinceBarrier_ = 32;
  barrier(*s, true);
  skDeterministicPhase(*s);
  sinceBarrier_ = 32;
  barrier(*s, true);
  bool deterministicOk = !failed_;
  skFuzzPhase(*s);
  authPhase();
  replayPhase(*s, *control);

  uint64_t total = 0;
  for (auto& [k, v] : sent_) {
    std::printf("sent.%s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
    if (k != "legit") total += v;
  }
  std::printf("sent.hostile_total %llu\n", static_cast<unsigned long long>(total));
  uint64_t skTotal = 0;
  for (auto& [k, v] : sent_) {
    if (k.rfind("sk.", 0) == 0 || k.rfind("auth.", 0) == 0) skTotal += v;
  }
  std::printf("sent.sk_total %llu\n", static_cast<unsigned long long>(skTotal));
  for (auto& [k, v] : stat_)
    std::printf("%s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  std::printf("state_intact %d\n", deterministicOk ? 1 : 0);
  return deterministicOk && !failed_ ? 0 : 1;
}

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    auto num = [&](auto& out) {
      char* end = nullptr;
      unsigned long long x = std::strtoull(v.c_str(), &end, 0);
      if (end == v.c_str() || *end != '\0') return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(x);
      return true;
    };
    bool ok = true;
    if (a == "--local")
      o.local = v;
    else if (a == "--remote")
      o.remote = v;
    else if (a == "--psk")
      o.psk = v;
    else if (a == "--local-id")
      o.localId = v;
    else if (a == "--remote-id")
      o.remoteId = v;
    else if (a == "--local-ts")
      o.localTs = v;
    else if (a == "--remote-ts")
      o.remoteTs = v;
    else if (a == "--proposals")
      o.proposals = v;
    else if (a == "--esp-proposals")
      o.espProposals = v;
    else if (a == "--seed")
      ok = num(o.seed);
    else if (a == "--plain")
      ok = num(o.plain);
    else if (a == "--sk")
      ok = num(o.sk);
    else if (a == "--auth")
      ok = num(o.auth);
    else if (a == "--replay")
      ok = num(o.replay);
    else if (a == "--timeout-ms")
      ok = num(o.timeoutMs);
    else if (a == "--port")
      ok = num(o.port);
    else if (a == "--remote-port")
      ok = num(o.remotePort);
    else if (a == "--natt-port")
      ok = num(o.nattPort);
    else if (a == "--remote-natt-port")
      ok = num(o.remoteNattPort);
    else
      return false;
    if (!ok) return false;
  }
  return !o.local.empty() && !o.remote.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: braid-ike-hostile --local ADDR --remote ADDR --psk PSK --local-id ID "
                 "--remote-id ID --local-ts PREFIX --remote-ts PREFIX [--seed N] [--plain N] "
                 "[--sk N] [--auth N] [--replay N] [--timeout-ms N] [--proposals P] "
                 "[--esp-proposals P] [--port N] [--remote-port N] [--natt-port N] "
                 "[--remote-natt-port N]\n");
    return 2;
  }
  Logger::instance().setLevel(LogLevel::kError);
  Tool tool(o);
  return tool.run();
}

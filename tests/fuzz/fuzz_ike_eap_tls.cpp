// Fuzz target: EAP-TLS Type-Data (RFC 5216 3.1) as a client or a gateway may send it. The
// input's first byte picks a split: the rest is cut into pieces fed one after another, so
// that fragment sequences reach the reassembly. Checked: a frame the codec accepts
// re-encodes to the same bytes; the gateway's session fed the pieces right after Start,
// while it sends a fragmented flight (after a real ClientHello), and the client's session
// fed them as requests, never crash, and every
// frame they answer with decodes; the EAP authenticator offering EAP-TLS, fed the input
// as the answer to its first requests, answers with packets that decode.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ipsec/ike/eap.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/eap_tls.hpp"
#include "ipsec/ike/events.hpp"

namespace {

using namespace braid::ike;
using eap_tls::Frame;
using Outcome = EapTlsSession::Outcome;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

struct Pki {
  PrivateKey key;
  Certificate cert;
  std::shared_ptr<TrustStore> store;
};

// A self-signed EC certificate: the gateway's, and the CA the client trusts.
const Pki& pki() {
  static const Pki p = [] {
    Pki k;
    k.key = *PrivateKey::generateEc(KeyType::kEcP256);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L);
    X509_set_pubkey(x, k.key.get());
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const uint8_t*>("gw"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, k.key.get(), EVP_sha256());
    k.cert = Certificate::fromX509(x);
    X509_free(x);
    k.store = std::make_shared<TrustStore>();
    (void)k.store->addCa(k.cert);
    return k;
  }();
  return p;
}

EapTlsConfig config(bool server) {
  EapTlsConfig c;
  if (server) {
    c.key = pki().key;
    c.certs = {pki().cert};
  }
  c.cas = pki().store;
  c.fragmentSize = 128;  // the server's flight in several fragments
  c.maxMessage = 4096;   // reachable by the fuzzer
  return c;
}

void checkFrame(const EapTlsSession::Step& s) {
  if (s.outcome == Outcome::kContinue) check(Frame::decode(s.typeData).has_value());
}

std::vector<std::vector<uint8_t>> pieces(const uint8_t* data, size_t size) {
  std::vector<std::vector<uint8_t>> out;
  if (size == 0) return {{}};
  const size_t cut = data[0] == 0 ? size : data[0];
  for (size_t i = 1; i < size; i += cut) out.emplace_back(data + i, data + std::min(size, i + cut));
  if (out.empty()) out.emplace_back();
  return out;
}

void feed(EapTlsSession& s, const std::vector<std::vector<uint8_t>>& in) {
  for (const auto& piece : in) {
    EapTlsSession::Step step = s.process(piece);
    checkFrame(step);
    if (step.outcome != Outcome::kContinue) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  braid::Bytes in(data, size);
  if (auto f = Frame::decode(in)) {
    std::vector<uint8_t> again = f->encode();
    check(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  const auto parts = pieces(data, size);
  {  // the gateway, right after Start
    auto server =
        std::move(EapTlsSession::create(EapTlsSession::Role::kServer, config(true)).value());
    server->start();
    feed(*server, parts);
  }
  {  // the gateway sending its fragmented flight, after a real ClientHello
    auto server =
        std::move(EapTlsSession::create(EapTlsSession::Role::kServer, config(true)).value());
    auto client =
        std::move(EapTlsSession::create(EapTlsSession::Role::kClient, config(false)).value());
    auto hello = client->process(server->start());
    check(hello.outcome == Outcome::kContinue);
    auto flight = server->process(hello.typeData);
    check(flight.outcome == Outcome::kContinue);
    feed(*server, parts);
  }
  {  // a client: Start, then the pieces
    auto client =
        std::move(EapTlsSession::create(EapTlsSession::Role::kClient, config(false)).value());
    Frame start;
    start.flags = eap_tls::kFlagStart;
    checkFrame(client->process(start.encode()));
    feed(*client, parts);
  }
  // The authenticator offering EAP-TLS: the input as the answer to Identity and to Start.
  auto tls = std::make_shared<EapTlsConfig>(config(true));
  for (int rounds = 0; rounds < 2; ++rounds) {
    SeededRandom rnd(1);
    EapAuthenticator a(nullptr, "gw", rnd, {eap_type::kTls}, tls);
    std::vector<uint8_t> req = a.start();
    if (rounds == 1) {
      EapPacket id;
      id.code = EapCode::kResponse;
      id.identifier = EapPacket::decode(req)->identifier;
      id.type = eap_type::kIdentity;
      id.data = {'g', 'w'};
      EapStep s = a.process(id.encode());
      check(s.outcome == EapOutcome::kContinue);
      req = s.reply;
    }
    std::vector<uint8_t> input(data, data + size);
    if (input.size() >= 2) input[1] = EapPacket::decode(req)->identifier;
    EapStep s = a.process(input);
    if (!s.reply.empty()) check(EapPacket::decode(s.reply).has_value());
  }
  return 0;
}

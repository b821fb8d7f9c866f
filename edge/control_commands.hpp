// braidctl's protocol and views (docs/operations.md "braidctl"). A request is one line of
// plain words ("status", "path down fiber"), at most kMaxControlRequest bytes; the answer is
// one JSON object on one line: {"ok":true,"command":"status","data":{...}} or
// {"ok":false,"error":"..."}. Both sides live here: the request parser and the reports of
// the daemon (from plain structs, so that tests need no daemon), and braidctl's text views
// of a response (at most 80 columns).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "edge/paths.hpp"

namespace braid::edge {

inline constexpr size_t kMaxControlRequest = 512;
inline constexpr size_t kControlColumns = 80;

enum class ControlVerb : uint8_t {
  kStatus,
  kSas,
  kFlows,
  kPathDown,
  kPathUp,
  kReload,
  kMetrics,
  kCount
};
const char* controlVerbName(ControlVerb v);

struct ControlRequest {
  ControlVerb verb = ControlVerb::kStatus;
  std::string arg;  // path down|up: the path ("peer/uplink") or uplink name
};
// One request line without its '\n'. Errors name what was expected; nothing is echoed
// back beyond 64 bytes.
Result<ControlRequest> parseControlRequest(std::string_view line);

// {"ok":false,"error":message}
std::string controlError(std::string_view message);
// {"ok":true,"command":command,"message":message} (path down|up, reload)
std::string controlDone(std::string_view command, std::string_view message);

// What status and sas report: plain figures, filled by the daemon.
struct ControlSa {
  uint32_t spi = 0;
  bool inbound = false;
  uint64_t packets = 0, bytes = 0, drops = 0;
};
// sas: an IKE SA of the path and its Child SAs, in the manner of swanctl --list-sas.
// Times are seconds from now: ago for `established`/`installed`, ahead for rekey/expire
// (negative: none scheduled).
struct ControlChildSa {
  std::string name, state;  // the Child SA config's name; INSTALLED, REKEYING, ...
  uint32_t spiIn = 0, spiOut = 0;
  std::string proposal;  // "aes256gcm16" (with "-x25519" when PFS)
  double installedAgo = 0, rekeyIn = -1, expireIn = -1;
  uint64_t bytesIn = 0, packetsIn = 0, bytesOut = 0, packetsOut = 0;
  std::vector<std::string> localTs, remoteTs;
};
struct ControlIkeSa {
  std::string state;  // ESTABLISHED, CONNECTING, ...
  bool initiator = false;
  uint64_t spiI = 0, spiR = 0;
  std::string proposal;  // "aes256gcm16-prfsha256-x25519": encr(-integ)-prf-dh
  std::string local, remote, localId, remoteId;
  double establishedAgo = 0, rekeyIn = -1, expireIn = -1;
  bool natLocal = false, natRemote = false;
  std::vector<ControlChildSa> children;
};

struct ControlPath {
  std::string name;  // "peer/uplink"
  std::string peer, uplink;
  std::string state;  // pathmon state name
  bool adminDown = false;
  std::string keying;         // "manual", or the IKE state: idle, connecting, established, failed
  std::string local, remote;  // ESP-in-UDP endpoints
  double rttMs = 0, jitterMs = 0, loss = 0;
  std::vector<std::string> classes;  // classes with flows on the path, or preferring it now
  std::vector<ControlSa> sas;
  std::vector<ControlIkeSa> ikeSas;  // sas only: the path's newest IKE SA, if any
};
struct ControlUplink {
  std::string name, local;
  bool metered = false;
};
struct ControlStatus {
  std::string version;
  double uptimeSeconds = 0;
  size_t flows = 0;
  std::vector<ControlUplink> uplinks;
  std::vector<ControlPath> paths;
};
// {"ok":true,"command":command ("status" or "sas"),"data":{...}}
std::string controlStatusResponse(std::string_view command, const ControlStatus& s);

struct ControlFlow {
  std::string flow;  // "udp 10.1.0.1:5004 > 10.2.0.1:5004"
  std::string peer, cls, path;
  uint64_t packets = 0;
  double idleSeconds = 0;
};
struct ControlFlows {
  size_t total = 0;
  std::vector<ControlFlow> top;  // most packets first
};
std::string controlFlowsResponse(const ControlFlows& f);

// metrics: {"ok":true,"command":"metrics","data":REGISTRY} where REGISTRY is braidd's whole
// metrics registry as metrics::Registry::json() writes it ({"metrics":[families]}), from the
// descriptor tables the scrape uses.
std::string controlMetricsResponse(std::string_view registryJson);

// TX thread (through DataPlane::inspectSteering): which classes use each path (flows on it,
// or the class's current best path) and the `maxFlows` flows with most packets. Copies.
class Steering;
struct PolicyView {
  std::vector<std::vector<std::string>> classesByPath;  // index = path id, sorted
  ControlFlows flows;
};
// `peers`: names by peer index.
PolicyView inspectPolicy(const Steering& steering, const std::vector<PathSpec>& paths,
                         const std::vector<std::string>& peers, size_t maxFlows, TimePoint now);

// braidctl: the text view of a response line; the error's text if it is not ok or not a
// response at all. Lines are at most kControlColumns wide.
Result<std::string> formatControlResponse(std::string_view response);

}  // namespace braid::edge

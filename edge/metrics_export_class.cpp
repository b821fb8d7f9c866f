#include "edge/metrics_export_class.hpp"

#include <algorithm>
#include <array>

namespace braid::edge {

namespace m = braid::metrics;

namespace {

using C = ClassCounters;
constexpr std::string_view kPacketsHelp =
    "Inner packets of the class sent (tx: handed to a path, copies not counted) or received "
    "with a shim header naming it (rx).";
constexpr std::string_view kBytesHelp = "Inner bytes of the class, as braid_class_packets_total.";

constexpr m::Field<C> traffic(std::string_view name, std::string_view help, uint64_t C::*member,
                              std::string_view dir, std::string_view key,
                              std::string_view unit = {}) {
  return {.name = name,
          .help = help,
          .unit = unit,
          .member = member,
          .statsKey = key,
          .label = {"direction", dir}};
}

constexpr auto kClassFields = std::to_array<m::Field<C>>({
    traffic("braid_class_packets_total", kPacketsHelp, &C::txPackets, "tx",
            "class.{class}.tx_packets"),
    traffic("braid_class_packets_total", kPacketsHelp, &C::rxPackets, "rx",
            "class.{class}.rx_packets"),
    traffic("braid_class_bytes_total", kBytesHelp, &C::txBytes, "tx", "class.{class}.tx_bytes",
            "bytes"),
    traffic("braid_class_bytes_total", kBytesHelp, &C::rxBytes, "rx", "class.{class}.rx_bytes",
            "bytes"),
});
static_assert(kClassFields.size() * sizeof(uint64_t) == sizeof(C),
              "every ClassCounters field needs a descriptor in kClassFields");

using O = ClassMetrics::OnPath;
constexpr auto kPathFields = std::to_array<m::Field<O>>({
    {.name = "braid_class_path",
     .help = "1 for each path the class uses now (its best path at each peer), else 0.",
     .type = m::Type::kGauge,
     .member = &O::on,
     .statsKey = "class.{class}.path.{path}"},
});

}  // namespace

Status ClassMetrics::update(m::Registry& r, const std::vector<ClassStats>& classes) {
  for (const ClassStats& c : classes) {
    auto it = classes_.find(c.name);
    if (it == classes_.end()) {
      Series s;
      auto t = m::StructMetrics<C>::add(r, kClassFields, {{"class", c.name}});
      if (!t) return t.status();
      s.traffic = std::move(*t);
      for (const std::string& p : paths_) {
        auto on = m::StructMetrics<O>::add(r, kPathFields, {{"class", c.name}, {"path", p}});
        if (!on) return on.status();
        s.paths.push_back(std::move(*on));
      }
      it = classes_.emplace(c.name, std::move(s)).first;
    }
    it->second.traffic.update(r, c.counters);
    for (size_t i = 0; i < paths_.size(); ++i) {
      const bool on = std::find(c.paths.begin(), c.paths.end(), paths_[i]) != c.paths.end();
      it->second.paths[i].update(r, O{on ? 1u : 0u});
    }
  }
  return Status::ok();
}

}  // namespace braid::edge

// The control language and scenarios, driven in simulated time.
#include <gtest/gtest.h>

#include "deploy/lab/wanem/links.hpp"
#include "deploy/lab/wanem/scenario.hpp"

namespace braid::wanem {
namespace {

class ControlTest : public ::testing::Test {
 protected:
  ControlTest() {
    for (const char* name : {"fiber", "lte"}) {
      auto l = std::make_unique<Link>();
      l->name = name;
      l->ifA = std::string(name) + "-a";
      l->ifB = std::string(name) + "-b";
      l->ab = std::make_unique<Direction>(name, "ab", l->ifA, l->ifB, 1);
      l->ba = std::make_unique<Direction>(name, "ba", l->ifB, l->ifA, 2);
      LinkParams p;
      EXPECT_TRUE(applyTokens(p, {"delay=4ms"}));
      l->ab->setBaseline(p);
      l->ba->setBaseline(p);
      links_.push_back(std::move(l));
    }
  }
  std::string get(const std::string& target, const std::string& key) {
    std::string r = ctl_.execute("get " + target + " " + key, clock_.now());
    return r.substr(0, r.size() - 1);
  }
  void advance(Duration d) {
    clock_.advance(d);
    ctl_.timers().runUntil(clock_.now());
  }

  std::vector<std::unique_ptr<Link>> links_;
  int notified_ = 0;
  ManualClock clock_;
  Controller ctl_{links_, 99, [this] { ++notified_; }};
};

TEST_F(ControlTest, SetDirectionsAndErrors) {
  EXPECT_EQ(ctl_.execute("set fiber delay=40ms jitter=5ms loss=2%", clock_.now()).rfind("ERR", 0),
            std::string::npos);
  EXPECT_GT(notified_, 0);
  EXPECT_EQ(get("fiber:ab", "delay"), "40ms");
  EXPECT_EQ(get("fiber:ba", "loss"), "2%");
  ctl_.execute("set fiber:ab down", clock_.now());
  EXPECT_EQ(get("fiber:ab", "state"), "down");
  EXPECT_EQ(get("fiber:ba", "state"), "up");
  ctl_.execute("set lte dir=ba loss 3%", clock_.now());
  EXPECT_EQ(get("lte:ba", "loss"), "3%");
  EXPECT_EQ(get("lte:ab", "loss"), "0%");
  ctl_.execute("set all reset", clock_.now());
  EXPECT_EQ(get("fiber:ab", "state"), "up");
  EXPECT_EQ(get("fiber:ab", "delay"), "4ms");
  EXPECT_EQ(get("fiber:ab", "fwd"), "0");

  EXPECT_EQ(ctl_.execute("set dsl down", clock_.now()).rfind("ERR no link 'dsl'", 0), 0u);
  EXPECT_EQ(ctl_.execute("set fiber:xy down", clock_.now()).rfind("ERR", 0), 0u);
  EXPECT_EQ(ctl_.execute("set fiber delay=1ms loss=200%", clock_.now()).rfind("ERR", 0), 0u);
  EXPECT_EQ(get("fiber:ab", "delay"), "4ms");  // all or nothing
  EXPECT_EQ(ctl_.execute("get fiber nope", clock_.now()).rfind("ERR", 0), 0u);
  EXPECT_EQ(ctl_.execute("bogus", clock_.now()).rfind("ERR", 0), 0u);
}

TEST_F(ControlTest, TimedChangeRevertsOnlyItsKeys) {
  ctl_.execute("set fiber loss 10% for 5s", clock_.now());
  ctl_.execute("set fiber delay=30ms", clock_.now());
  EXPECT_EQ(get("fiber:ab", "loss"), "10%");
  advance(4999ms);
  EXPECT_EQ(get("fiber:ab", "loss"), "10%");
  advance(1ms);
  EXPECT_EQ(get("fiber:ab", "loss"), "0%");
  EXPECT_EQ(get("fiber:ab", "delay"), "30ms");  // changed meanwhile, not reverted
}

TEST_F(ControlTest, ScenarioTimeline) {
  auto ev = parseScenario(
      "# comment\n"
      "t=5s fiber blackout 3s\n"
      "t=12s lte loss 10% for 5s; fiber:ab delay=40ms\n"
      "t=+1s lte burst=2%:3\n",
      "x.scn");
  ASSERT_TRUE(ev) << ev.status().message();
  ASSERT_EQ(ev->size(), 4u);
  EXPECT_EQ((*ev)[2].at, 12s);  // shares the line's time
  EXPECT_EQ((*ev)[3].at, 13s);  // relative to the previous event
  ASSERT_TRUE(ctl_.runScenario(std::move(*ev), clock_.now()));
  EXPECT_TRUE(ctl_.scenarioRunning());
  advance(5s);
  EXPECT_EQ(get("fiber:ab", "state"), "down");
  advance(3s);
  EXPECT_EQ(get("fiber:ab", "state"), "up");
  advance(4s);
  EXPECT_EQ(get("lte:ba", "loss"), "10%");
  EXPECT_EQ(get("fiber:ab", "delay"), "40ms");
  EXPECT_EQ(get("fiber:ba", "delay"), "4ms");
  advance(1s);
  EXPECT_EQ(get("lte:ab", "burst"), "2%:3");
  advance(4s);
  EXPECT_EQ(get("lte:ab", "loss"), "0%");
  EXPECT_FALSE(ctl_.scenarioRunning());
}

TEST_F(ControlTest, StopCancelsPendingEvents) {
  std::string r = ctl_.execute("run s.scn\nt=1s fiber down\nt=2s lte down\n", clock_.now());
  EXPECT_EQ(r.rfind("scenario started: 2 events", 0), 0u) << r;
  advance(1s);
  EXPECT_EQ(get("fiber:ab", "state"), "down");
  EXPECT_EQ(ctl_.execute("stop", clock_.now()), "scenario stopped\n");
  advance(5s);
  EXPECT_EQ(get("lte:ab", "state"), "up");
}

TEST(WanemScenario, ErrorsNameFileAndLine) {
  auto bad = [](const char* text) {
    auto r = parseScenario(text, "f.scn");
    return r ? std::string() : r.status().message();
  };
  EXPECT_EQ(bad("t=1s fiber down\nfiber up\n").rfind("f.scn:2:", 0), 0u);
  EXPECT_EQ(bad("t=1x fiber down\n").rfind("f.scn:1:", 0), 0u);
  EXPECT_NE(bad("t=1s fiber loss\n").find("needs"), std::string::npos);
  EXPECT_NE(bad("t=1s fiber loss=1000%\n"), "");
  EXPECT_NE(bad("t=1s fiber blackout 1s for 2s\n"), "");
  EXPECT_EQ(bad("t=1s fiber blackout 1s\n\n# only a comment\n"), "");
}

}  // namespace
}  // namespace braid::wanem

#include "StoreState.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace bolt::dist::store {

namespace {

std::optional<Clock::time_point> deadline_after(int64_t timeout_ms, Clock::time_point now) {
  if (timeout_ms <= 0) return std::nullopt;  // c10d's kNoTimeout
  return now + std::chrono::milliseconds(std::min<int64_t>(timeout_ms, int64_t{365} * 24 * 3600 * 1000));
}

void expect_end(const FrameReader& in) {
  if (!in.done()) throw MalformedFrame("bytes after the request's fields");
}

}  // namespace

void StoreState::handle(int connection, const std::string& payload, Clock::time_point now) {
  FrameReader in(payload.data(), payload.size());
  const auto op = static_cast<Op>(in.u8());
  switch (op) {
    case Op::Set: {
      auto key = in.str();
      auto value = in.bytes();
      expect_end(in);
      values_[key] = std::move(value);
      reply(connection, Status::Ok);
      changed(key);
      break;
    }
    case Op::CompareSet: {
      // c10d's semantics: an absent key is created only when the expected value is empty.
      auto key = in.str();
      auto expected = in.bytes();
      auto desired = in.bytes();
      expect_end(in);
      auto found = values_.find(key);
      Bytes current = expected;
      bool set = false;
      if (found == values_.end() && expected.empty()) {
        current = values_[key] = desired;
        set = true;
      } else if (found != values_.end()) {
        if (found->second == expected) {
          found->second = desired;
          set = true;
        }
        current = found->second;
      }
      reply(connection, Status::Ok, [&](FrameWriter& w) { w.bytes(current); });
      if (set) changed(key);
      break;
    }
    case Op::Get: {
      auto key = in.str();
      const auto timeout_ms = in.i64();
      expect_end(in);
      park(connection, Waiter{op, {std::move(key)}, deadline_after(timeout_ms, now)});
      break;
    }
    case Op::Wait: {
      auto keys = in.strs();
      const auto timeout_ms = in.i64();
      expect_end(in);
      park(connection, Waiter{op, std::move(keys), deadline_after(timeout_ms, now)});
      break;
    }
    case Op::Add: {
      // Counters are stored as decimal text, as c10d stores them (a get returns the text).
      auto key = in.str();
      const auto delta = in.i64();
      expect_end(in);
      int64_t value = 0;
      if (auto found = values_.find(key); found != values_.end()) {
        const auto* text = reinterpret_cast<const char*>(found->second.data());
        const auto [end, error] = std::from_chars(text, text + found->second.size(), value);
        if (error != std::errc() || end != text + found->second.size()) {
          reply(connection, Status::Refused, [&](FrameWriter& w) { w.str("the key holds a value that is not a counter"); });
          break;
        }
      }
      if (__builtin_add_overflow(value, delta, &value)) {
        reply(connection, Status::Refused, [&](FrameWriter& w) { w.str("the counter would overflow"); });
        break;
      }
      const auto text = std::to_string(value);
      values_[key] = Bytes(text.begin(), text.end());
      reply(connection, Status::Ok, [&](FrameWriter& w) { w.i64(value); });
      changed(key);
      break;
    }
    case Op::Delete: {
      const auto key = in.str();
      expect_end(in);
      const bool existed = values_.erase(key) != 0;
      reply(connection, Status::Ok, [&](FrameWriter& w) { w.u8(existed ? 1 : 0); });
      break;
    }
    case Op::Check: {
      const auto keys = in.strs();
      expect_end(in);
      const bool present = all_present(keys);
      reply(connection, Status::Ok, [&](FrameWriter& w) { w.u8(present ? 1 : 0); });
      break;
    }
    case Op::NumKeys:
      expect_end(in);
      reply(connection, Status::Ok, [&](FrameWriter& w) { w.i64(static_cast<int64_t>(values_.size())); });
      break;
    default:
      throw MalformedFrame("unknown operation");
  }
}

bool StoreState::all_present(const std::vector<std::string>& keys) const {
  for (const auto& key : keys) {
    if (values_.count(key) == 0) return false;
  }
  return true;
}

void StoreState::park(int connection, Waiter waiter) {
  if (all_present(waiter.keys)) {
    answer(connection, waiter);
    return;
  }
  for (const auto& key : waiter.keys) waiting_on_[key].insert(connection);
  waiters_[connection] = std::move(waiter);
}

void StoreState::answer(int connection, const Waiter& waiter) {
  if (waiter.op == Op::Get) {
    const auto& value = values_.at(waiter.keys.front());
    reply(connection, Status::Ok, [&](FrameWriter& w) { w.bytes(value); });
  } else {
    reply(connection, Status::Ok);
  }
}

void StoreState::changed(const std::string& key) {
  const auto found = waiting_on_.find(key);
  if (found == waiting_on_.end()) return;
  const auto candidates = found->second;  // copy: forget() edits the index
  for (const int connection : candidates) {
    const auto waiter = waiters_.find(connection);
    if (waiter == waiters_.end() || !all_present(waiter->second.keys)) continue;
    const auto ready = std::move(waiter->second);
    forget(connection);
    answer(connection, ready);
    woken_.push_back(connection);
  }
}

void StoreState::forget(int connection) {
  const auto waiter = waiters_.find(connection);
  if (waiter == waiters_.end()) return;
  for (const auto& key : waiter->second.keys) {
    auto index = waiting_on_.find(key);
    if (index == waiting_on_.end()) continue;
    index->second.erase(connection);
    if (index->second.empty()) waiting_on_.erase(index);
  }
  waiters_.erase(waiter);
}

std::optional<Clock::time_point> StoreState::expire(Clock::time_point now) {
  std::optional<Clock::time_point> next;
  std::vector<int> expired;
  for (const auto& [connection, waiter] : waiters_) {
    if (!waiter.deadline) continue;
    if (*waiter.deadline <= now) expired.push_back(connection);
    else if (!next || *waiter.deadline < *next) next = waiter.deadline;
  }
  for (const int connection : expired) {
    forget(connection);
    reply(connection, Status::Timeout);
    woken_.push_back(connection);
  }
  return next;
}

std::vector<int> StoreState::take_woken() { return std::exchange(woken_, {}); }

void StoreState::reply(int connection, Status status, const std::function<void(FrameWriter&)>& fields) {
  FrameWriter w;
  w.u8(static_cast<uint8_t>(status));
  if (fields) fields(w);
  send_(connection, w.frame());
}

}  // namespace bolt::dist::store

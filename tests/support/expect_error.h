// Helpers for tests of error messages.
#pragma once
#include <initializer_list>
#include <string>

#include <gtest/gtest.h>

#include "engine/error.h"

namespace signet::testing {

// The message of the signet::Error fn throws ("" when it throws none).
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Expects fn to throw signet::Error whose message contains every fragment.
template <class Fn>
void expect_error(Fn fn, std::initializer_list<const char*> fragments) {
  std::string message = error_of(fn);
  EXPECT_FALSE(message.empty()) << "no signet::Error thrown";
  for (const char* f : fragments)
    EXPECT_NE(message.find(f), std::string::npos) << "missing '" << f << "' in: " << message;
}

}  // namespace signet::testing

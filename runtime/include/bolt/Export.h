#pragma once
// Public classes keep default visibility so that plugins built with hidden visibility still
// share their type identity (exceptions thrown in a plugin are caught as bolt::Error).
#define BOLT_API __attribute__((visibility("default")))

// A value or an Error. The callers map errors to FTP replies (not_found -> 550, quota -> 552, ...).
#pragma once
#include "sys/error.hpp"

#include <utility>

namespace ferry {

template <class T>
class Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Error err) : value_(), err_(err) {}
    Result(Errc code) : value_(), err_(code) {}
    static Result failure(Error err) { return Result(err); }
    bool ok() const { return !err_; }
    explicit operator bool() const { return ok(); }
    Error error() const { return err_; }
    T& value() { return value_; }
    const T& value() const { return value_; }
    T& operator*() { return value_; }
    const T& operator*() const { return value_; }
    T* operator->() { return &value_; }
    const T* operator->() const { return &value_; }

private:
    T value_;
    Error err_;
};

// For operations that return nothing but may fail: a default Error (ok) is success.
using Status = Error;

}  // namespace ferry

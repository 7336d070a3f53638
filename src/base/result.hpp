// A value or an errno. The callers map errno to FTP replies (ENOENT -> 550, EDQUOT -> 552, ...).
#pragma once
#include <utility>

namespace ferry {

template <class T>
class Result {
public:
    Result(T value) : value_(std::move(value)), err_(0) {}
    static Result failure(int err) { return Result(err, 0); }
    bool ok() const { return err_ == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return err_; }
    T& value() { return value_; }
    const T& value() const { return value_; }
    T& operator*() { return value_; }
    T* operator->() { return &value_; }

private:
    Result(int err, int) : value_(), err_(err) {}
    T value_;
    int err_;
};

// For operations that return nothing but may fail: 0 = success, otherwise an errno value.
using Status = int;

}  // namespace ferry

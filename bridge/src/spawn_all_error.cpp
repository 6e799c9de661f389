#include <pyasync/spawn_all.hpp>

#include <cxxabi.h>

#include <string>
#include <typeinfo>

namespace pyasync {
namespace {

/// "<type>: <what()>" for the failure `error`, without the GIL (jobs never raise Python errors).
std::string describe(const std::exception_ptr &error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &failure) {
        return detail::demangle(typeid(failure).name()) + ": " + failure.what();
    } catch (const cancelled_error &) {
        return "pyasync::cancelled_error";
    } catch (...) {
        const std::type_info *type = abi::__cxa_current_exception_type();
        return (type != nullptr ? detail::demangle(type->name()) : std::string("<unknown>")) +
               " (not a std::exception)";
    }
}

std::string summary(const std::vector<spawn_all_error::failure> &failures, std::size_t jobs) {
    return std::to_string(failures.size()) + " of " + std::to_string(jobs) + " jobs failed; the first, job " +
           std::to_string(failures.front().index) + ", with " + describe(failures.front().error) +
           " (each failure is in spawn_all_error::failures())";
}

} // namespace

spawn_all_error::spawn_all_error(std::vector<failure> failures, std::size_t jobs)
        : std::runtime_error(summary(failures, jobs)), failures_(std::move(failures)) {}

} // namespace pyasync

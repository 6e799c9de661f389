#pragma once
/// \file
/// Everything public in pyasync, for convenience.

#include <pyasync/async_generator.hpp>
#include <pyasync/async_iterator.hpp>
#include <pyasync/await.hpp>
#include <pyasync/buffered.hpp>
#include <pyasync/call.hpp>
#include <pyasync/cancellation.hpp>
#include <pyasync/cast.hpp>
#include <pyasync/coroutine.hpp>
#include <pyasync/def.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/future_into_py.hpp>
#include <pyasync/gather.hpp>
#include <pyasync/gil.hpp>
#include <pyasync/loop_sleep.hpp>
#include <pyasync/module.hpp>
#include <pyasync/resume_on.hpp>
#include <pyasync/runtime.hpp>
#include <pyasync/sleep.hpp>
#include <pyasync/spawn.hpp>
#include <pyasync/spawn_all.hpp>
#include <pyasync/task.hpp>
#include <pyasync/task_locals.hpp>

#[=======================================================================[.rst:
pyasync_add_module
------------------

Builds a pybind11 extension module linked to ``pyasync::bridge``::

  pyasync_add_module(<name> [MODULE|SHARED] [NO_EXTRAS] [THIN_LTO] <sources>...)

Takes the arguments of ``pybind11_add_module``.
#]=======================================================================]
function(pyasync_add_module name)
  pybind11_add_module(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE pyasync::bridge)
endfunction()

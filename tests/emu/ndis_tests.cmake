# NDIS-layer tests (NBLs, filter framework, verifier, RW lock), included at
# the end of tests/emu/CMakeLists.txt. Each test registers its filter drivers
# from inside the test binary (emu_test_register_inline_driver), so none
# needs the driver loader. argv[1] = seconds for the timed ones.
set(NDIS_TESTS ndis_nbl_test ndis_stack_test ndis_rwlock_test ndis_churn_test
               ndis_lifecycle_test ndis_control_test ndis_config_test)
foreach(t IN LISTS NDIS_TESTS)
  add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c)
  target_link_libraries(${t} PRIVATE ndisemu)
  add_test(NAME emu.${t} COMMAND ${t})
  set_tests_properties(emu.${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# The timed ones, long enough for TSan to see the pause/traffic races.
foreach(t ndis_rwlock_test ndis_churn_test)
  add_test(NAME emu.${t}.stress COMMAND ${t} 20)
  set_tests_properties(emu.${t}.stress PROPERTIES LABELS stress TIMEOUT 600)
endforeach()

# The verifier's hand-offs: a work item or DPC judged by who queued it.
add_executable(ndis_handoff_test ${CMAKE_CURRENT_LIST_DIR}/ndis_handoff_test.c)
target_link_libraries(ndis_handoff_test PRIVATE ndisemu)
add_test(NAME emu.ndis_handoff_test COMMAND ndis_handoff_test)
set_tests_properties(emu.ndis_handoff_test PROPERTIES LABELS unit TIMEOUT 60)

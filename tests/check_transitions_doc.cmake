# Fails unless the block between the transitions markers in DOC is exactly
# what `paymentsctl transitions` prints: the docs and the code read the same
# table (core/intent_fsm.cpp).
#   -DPAYMENTSCTL=... -DDOC=...
execute_process(COMMAND "${PAYMENTSCTL}" transitions OUTPUT_VARIABLE expected
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "paymentsctl transitions failed (${rc})")
endif()
file(READ "${DOC}" doc)
string(FIND "${doc}" "<!-- transitions:begin -->\n" begin)
string(FIND "${doc}" "<!-- transitions:end -->" end)
if(begin EQUAL -1 OR end EQUAL -1)
  message(FATAL_ERROR "${DOC} lacks the transitions markers")
endif()
string(LENGTH "<!-- transitions:begin -->\n" marker_length)
math(EXPR from "${begin} + ${marker_length}")
math(EXPR length "${end} - ${from}")
string(SUBSTRING "${doc}" ${from} ${length} actual)
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "the table in ${DOC} differs from `paymentsctl transitions`:\n"
                      "--- docs ---\n${actual}--- code ---\n${expected}")
endif()
message(STATUS "transitions table in the docs matches the code")

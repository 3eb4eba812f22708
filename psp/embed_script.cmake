# Writes a C++ source defining `std::string_view NAME()` in namespace pay::psp
# that answers the text of INPUT: a provider's checkout front end
# (psp/<name>/web/checkout.js), compiled into the provider's library so the
# engine serves it from its own binary.
#   -DINPUT=... -DOUTPUT=... -DNAME=...
file(READ "${INPUT}" text)
string(FIND "${text}" ")psp_script\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )psp_script\"")
endif()
set(body "// Generated from ${NAME}'s script; do not edit.\n#include <string_view>\n\n")
string(APPEND body "namespace pay::psp {\n\nstd::string_view ${NAME}() {\n")
string(APPEND body "  return R\"psp_script(${text})psp_script\";\n}\n\n}  // namespace pay::psp\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

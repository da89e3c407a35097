# One place for compiler flags shared by every target of the project.
add_library(indexer_warnings INTERFACE)
# No -Wnull-dereference: with optimisation, GCC 12 reports it inside libstdc++ and
# CLI11 where no null pointer can occur.
target_compile_options(indexer_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wformat=2 -Wimplicit-fallthrough
  $<$<BOOL:${INDEXER_WARNINGS_AS_ERRORS}>:-Werror>)

if(INDEXER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(INDEXER_SANITIZE_THREAD)
  if(INDEXER_SANITIZE)
    message(FATAL_ERROR "ThreadSanitizer cannot be combined with AddressSanitizer: choose one preset")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

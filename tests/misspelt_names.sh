#!/usr/bin/env bash
# misspelt_names.sh CXX INCLUDE... : shader and specialization-constant names are checked as the
# program compiles. Three one-line programs against the public headers: the right names compile;
# a misspelt shader and a misspelt constant do not, each failing with its own message.
set -u
cxx=$1
shift
flags=(-std=c++20 -fsyntax-only -x c++)
for dir in "$@"; do flags+=(-I "$dir"); done
compile() {  # compile BODY: the compiler's output, and its status
    printf '#include "revnet/engine/pipelines.hpp"\nvoid use() { %s }\n' "$1" | "$cxx" "${flags[@]}" - 2>&1
}
ok=$(compile 'revnet::ShaderName s{"batch_norm_forward"}; revnet::Specialization c{{"WORKGROUP_X", 64}, {"RELU", 1}};') || {
    echo "names every shader has did not compile:"; echo "$ok"; exit 1; }
shader=$(compile 'revnet::ShaderName s{"batch_norm_froward"};') && { echo "a misspelt shader name compiled"; exit 1; }
grep -q "no shader in shaders/ has this name" <<<"$shader" || { echo "unexpected error for a misspelt shader:"; echo "$shader"; exit 1; }
constant=$(compile 'revnet::Specialization c{{"WORKGROUP_X", 64}, {"RELUU", 1}};') && { echo "a misspelt constant name compiled"; exit 1; }
grep -q "no shader declares this specialization constant" <<<"$constant" || {
    echo "unexpected error for a misspelt constant:"; echo "$constant"; exit 1; }
echo "misspelt names checks passed"

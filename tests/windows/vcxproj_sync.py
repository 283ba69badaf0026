#!/usr/bin/env python3
"""driver/windows/hotlwf.vcxproj compiles what driver/CMakeLists.txt does.

The WDK build cannot run here, so the one thing that can rot unseen is its
source list: a file added to HL_DRIVER_SOURCES (or to core/) but not to the
project links on ndisemu and fails with unresolved externals on Windows.
usage: vcxproj_sync.py SOURCE_ROOT
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

root = sys.argv[1]
cmake = re.sub(r"#[^\n]*", "", open(os.path.join(root, "driver", "CMakeLists.txt")).read())
m = re.search(r"set\(HL_DRIVER_SOURCES\s+([^)]*)\)", cmake)
if not m:
    sys.exit("FAIL: no set(HL_DRIVER_SOURCES ...) in driver/CMakeLists.txt")
want = {"driver/" + f for f in m.group(1).split()}
want |= {"core/" + f for f in os.listdir(os.path.join(root, "core")) if f.endswith(".c")}
want |= {"rcu/" + f for f in os.listdir(os.path.join(root, "rcu")) if f.endswith(".c")}

ns = {"m": "http://schemas.microsoft.com/developer/msbuild/2003"}
proj = ET.parse(os.path.join(root, "driver", "windows", "hotlwf.vcxproj"))
have = set()
for el in proj.getroot().iterfind(".//m:ClCompile[@Include]", ns):
    p = os.path.normpath(os.path.join("driver/windows", el.get("Include").replace("\\", "/")))
    have.add(p)
    if not os.path.isfile(os.path.join(root, p)):
        print("FAIL: vcxproj names a missing file:", p)
        want.add("<missing>")

for f in sorted(want - have):
    print("FAIL: in CMake, not in hotlwf.vcxproj:", f)
for f in sorted(have - want):
    print("FAIL: in hotlwf.vcxproj, not in CMake:", f)
print(f"{len(have & want)} sources agree")
sys.exit(0 if want == have else 1)

"""FNV-1a 64, as the blkcheck and fatcat guests print it, for the shell tests.

  fnv.py FILE     the file's hash, 16 hex digits
  fnv.py -t DIR   what `fatcat tree` prints for a disk holding DIR: every
                  file ("file /PATH SIZE HASH") and directory ("dir /PATH"),
                  sorted
"""
import os
import sys


def fnv(path):
    h = 0xcbf29ce484222325
    with open(path, "rb") as f:
        for b in f.read():
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def tree(root):
    lines = []
    for d, dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            lines.append("file /%s %d %s" % (os.path.relpath(p, root), os.path.getsize(p), fnv(p)))
        for name in dirs:
            lines.append("dir /%s" % os.path.relpath(os.path.join(d, name), root))
    return sorted(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "-t":
        sys.stdout.write("".join(line + "\n" for line in tree(sys.argv[2])))
    elif len(sys.argv) == 2:
        print(fnv(sys.argv[1]))
    else:
        sys.exit("usage: fnv.py FILE | fnv.py -t DIR")

set -e
sed -i 's/if query in book.title\]/if query.casefold() in book.title.casefold()]/' library.py
grep -q casefold library.py

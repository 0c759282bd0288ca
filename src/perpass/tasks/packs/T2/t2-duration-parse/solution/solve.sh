set -e
sed -i 's/TOKEN = re.compile(r"(\\d)\\s\*(\[hms\])")/TOKEN = re.compile(r"(\\d+)\\s*([hms])")/' tokens.py
grep -q 'd+' tokens.py
sed -i 's/"m": 1,/"m": 60,/' duration.py
python -m pytest -q tests

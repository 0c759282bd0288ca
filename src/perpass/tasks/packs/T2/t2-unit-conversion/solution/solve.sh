set -e
sed -i 's/"ft": 3.28084,/"ft": 0.3048,/' units.py
sed -i 's|return value \* METRES_PER_UNIT\[to_unit\] / METRES_PER_UNIT\[from_unit\]|return value * METRES_PER_UNIT[from_unit] / METRES_PER_UNIT[to_unit]|' convert.py
python -m pytest -q tests

set -e
sed -i 's/settings\[key.strip()\] = value$/settings[key.strip()] = value.strip()/' settings.py
grep -q 'value.strip()' settings.py

set -e
sed -i 's|return round(price \* percent / 100, 2)|return round(price * (100 - percent) / 100, 2)|' pricing.py
grep -q '(100 - percent)' pricing.py

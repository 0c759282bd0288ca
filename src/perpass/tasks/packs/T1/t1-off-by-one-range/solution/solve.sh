set -e
sed -i 's/range(1, page_count(total_items, per_page))/range(1, page_count(total_items, per_page) + 1)/' pagination.py

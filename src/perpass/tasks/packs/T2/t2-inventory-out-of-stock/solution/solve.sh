set -e
cat >> errors.py <<'PY'


class OutOfStock(InventoryError):
    def __init__(self, item: str, requested: int, available: int) -> None:
        super().__init__(f"{item!r}: requested {requested}, only {available} in stock")
        self.item, self.requested, self.available = item, requested, available
PY
python - <<'PY'
from pathlib import Path
inv = Path("inventory.py")
text = inv.read_text().replace("from errors import UnknownItem", "from errors import OutOfStock, UnknownItem")
text = text.replace("        self.stock[item] -= count\n",
                    "        if count > self.stock[item]:\n"
                    "            raise OutOfStock(item, count, self.stock[item])\n"
                    "        self.stock[item] -= count\n")
inv.write_text(text)
orders = Path("orders.py")
text = orders.read_text().replace(
    "    for item, count in lines.items():\n        inventory.remove(item, count)\n",
    "    if any(inventory.count(item) < count for item, count in lines.items()):\n"
    "        return False\n"
    "    for item, count in lines.items():\n        inventory.remove(item, count)\n")
orders.write_text(text)
PY
python -m pytest -q tests

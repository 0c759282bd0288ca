"use strict";
// The money formatter of perpass.analysis.money, rule for rule (a browser test compares them).
function perpassMoney(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "∞";
  const a = Math.abs(x);
  if (a < 5e-10) return "$0";
  const sign = x < 0 ? "-" : "";
  if (a >= 100) return sign + "$" + a.toFixed(0).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  if (a >= 1) return sign + "$" + a.toFixed(2);
  const magnitude = Number(a.toExponential().split("e")[1]);
  return sign + "$" + a.toFixed(2 - magnitude);
}

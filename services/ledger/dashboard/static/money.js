// Money for people, the browser's copy of services/ledger/core/money.py (a test checks they agree).
// Amounts are integer micro-dollars; the unit follows the size: "$1,234.50", "45.6 m$", "7 µ$", "$0".
"use strict";

(function (root) {
  const MICRO_PER_MILLI = 1000;
  const MICRO_PER_CENT = 10000;
  const SIGNIFICANT_DIGITS = 3;

  // toPrecision rounds the exact binary value half up, as the Python side does with Decimal.
  const roundSignificant = (value) => Number(value.toPrecision(SIGNIFICANT_DIGITS));

  function plain(value) {
    const decimals = Math.max(0, SIGNIFICANT_DIGITS - 1 - Math.floor(Math.log10(value)));
    return value.toFixed(decimals).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  }

  function formatMicroUsd(micro) {
    if (micro === 0) return "$0";
    const sign = micro < 0 ? "-" : "";
    const size = Math.abs(micro);
    const milli = roundSignificant(size / MICRO_PER_MILLI);
    if (milli >= MICRO_PER_MILLI) {
      const cents = Math.floor(size / MICRO_PER_CENT + 0.5);
      const dollars = Math.floor(cents / 100).toLocaleString("en-US");
      return `${sign}$${dollars}.${String(cents % 100).padStart(2, "0")}`;
    }
    if (milli >= 1) return `${sign}${plain(milli)} m$`;
    return `${sign}${plain(roundSignificant(size))} µ$`;
  }

  const formatExactMicroUsd = (micro) => `${Math.round(micro).toLocaleString("en-US")} µ$`;

  const api = { formatMicroUsd, formatExactMicroUsd };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.BourseMoney = api;
})(this);

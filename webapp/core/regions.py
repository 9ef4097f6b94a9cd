"""Countries, Indian states with their GST codes, tax regimes, time zones."""
from __future__ import annotations

GST_INDIA, VAT, NO_TAX = "gst_india", "vat", "none"
TAX_REGIMES = {
    GST_INDIA: "India GST (CGST + SGST / IGST)",
    VAT: "VAT",
    NO_TAX: "No sales tax",
}

#: Country → (name, default currency, default tax regime, default time zone)
COUNTRIES = {
    "IN": ("India", "INR", GST_INDIA, "Asia/Kolkata"),
    "VN": ("Vietnam", "VND", VAT, "Asia/Ho_Chi_Minh"),
    "AE": ("United Arab Emirates", "AED", VAT, "Asia/Dubai"),
    "SA": ("Saudi Arabia", "SAR", VAT, "Asia/Riyadh"),
    "KW": ("Kuwait", "KWD", NO_TAX, "Asia/Kuwait"),
    "BH": ("Bahrain", "BHD", VAT, "Asia/Bahrain"),
    "OM": ("Oman", "OMR", VAT, "Asia/Muscat"),
    "GB": ("United Kingdom", "GBP", VAT, "Europe/London"),
    "IE": ("Ireland", "EUR", VAT, "Europe/Dublin"),
    "DE": ("Germany", "EUR", VAT, "Europe/Berlin"),
    "FR": ("France", "EUR", VAT, "Europe/Paris"),
    "SG": ("Singapore", "SGD", VAT, "Asia/Singapore"),
    "MY": ("Malaysia", "MYR", NO_TAX, "Asia/Kuala_Lumpur"),
    "ID": ("Indonesia", "IDR", VAT, "Asia/Jakarta"),
    "TH": ("Thailand", "THB", VAT, "Asia/Bangkok"),
    "PH": ("Philippines", "PHP", VAT, "Asia/Manila"),
    "BD": ("Bangladesh", "BDT", VAT, "Asia/Dhaka"),
    "LK": ("Sri Lanka", "LKR", VAT, "Asia/Colombo"),
    "NP": ("Nepal", "NPR", VAT, "Asia/Kathmandu"),
    "PK": ("Pakistan", "PKR", NO_TAX, "Asia/Karachi"),
    "KE": ("Kenya", "KES", VAT, "Africa/Nairobi"),
    "NG": ("Nigeria", "NGN", VAT, "Africa/Lagos"),
    "ZA": ("South Africa", "ZAR", VAT, "Africa/Johannesburg"),
    "JP": ("Japan", "JPY", NO_TAX, "Asia/Tokyo"),
    "US": ("United States", "USD", NO_TAX, "America/New_York"),
}

#: GST state and union-territory codes (the first two digits of a GSTIN).
INDIA_STATES = {
    "01": "Jammu and Kashmir", "02": "Himachal Pradesh", "03": "Punjab",
    "04": "Chandigarh", "05": "Uttarakhand", "06": "Haryana", "07": "Delhi",
    "08": "Rajasthan", "09": "Uttar Pradesh", "10": "Bihar", "11": "Sikkim",
    "12": "Arunachal Pradesh", "13": "Nagaland", "14": "Manipur", "15": "Mizoram",
    "16": "Tripura", "17": "Meghalaya", "18": "Assam", "19": "West Bengal",
    "20": "Jharkhand", "21": "Odisha", "22": "Chhattisgarh", "23": "Madhya Pradesh",
    "24": "Gujarat", "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra", "29": "Karnataka", "30": "Goa", "31": "Lakshadweep",
    "32": "Kerala", "33": "Tamil Nadu", "34": "Puducherry",
    "35": "Andaman and Nicobar Islands", "36": "Telangana", "37": "Andhra Pradesh",
    "38": "Ladakh", "97": "Other Territory",
}

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]


def state_name(country: str, state: str | None) -> str:
    if not state:
        return ""
    if country == "IN":
        return INDIA_STATES.get(state, state)
    return state

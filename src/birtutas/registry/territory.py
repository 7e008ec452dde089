"""The 17 regions and 3 cities of republican significance, with their ISO 3166-2:KZ codes."""

# (code, kind, Kazakh, Russian, English)
REGIONS = [
    ("KZ-10", "region", "Абай облысы", "Абайская область", "Abai Region"),
    ("KZ-11", "region", "Ақмола облысы", "Акмолинская область", "Akmola Region"),
    ("KZ-15", "region", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region"),
    ("KZ-19", "region", "Алматы облысы", "Алматинская область", "Almaty Region"),
    ("KZ-23", "region", "Атырау облысы", "Атырауская область", "Atyrau Region"),
    ("KZ-27", "region", "Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region"),
    ("KZ-31", "region", "Жамбыл облысы", "Жамбылская область", "Jambyl Region"),
    ("KZ-33", "region", "Жетісу облысы", "Жетысуская область", "Jetisu Region"),
    ("KZ-35", "region", "Қарағанды облысы", "Карагандинская область", "Karaganda Region"),
    ("KZ-39", "region", "Қостанай облысы", "Костанайская область", "Kostanay Region"),
    ("KZ-43", "region", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region"),
    ("KZ-47", "region", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region"),
    ("KZ-55", "region", "Павлодар облысы", "Павлодарская область", "Pavlodar Region"),
    ("KZ-59", "region", "Солтүстік Қазақстан облысы", "Северо-Казахстанская область", "North Kazakhstan Region"),
    ("KZ-61", "region", "Түркістан облысы", "Туркестанская область", "Turkistan Region"),
    ("KZ-62", "region", "Ұлытау облысы", "Улытауская область", "Ulytau Region"),
    ("KZ-63", "region", "Шығыс Қазақстан облысы", "Восточно-Казахстанская область", "East Kazakhstan Region"),
    ("KZ-71", "city", "Астана қаласы", "город Астана", "Astana"),
    ("KZ-75", "city", "Алматы қаласы", "город Алматы", "Almaty"),
    ("KZ-79", "city", "Шымкент қаласы", "город Шымкент", "Shymkent"),
]

"""The real local-API payloads of reference/jullix-api.md §1 (stevengoossensB samples).

Shared by the parsing tests and the fuzz tests, which mutate them.
"""

METER_SAMPLE = {
    "meter": "1SAG0000000000", "time": "250518211432",
    "energy": {"in_1": 14808.845703125, "in_2": 19642.892578125,
               "out_1": 12128.642578125, "out_2": 4594.6572265625},
    "power": {"in": 2.7990000247955322, "out": 0},
    "captar": {"actual": 2.8029999732971191, "month_max_value": 3.3029999732971191,
               "month_max_time": "250513201500"},
    "voltage": {"l1": 232.5, "l2": 0, "l3": 232.80000305175781},
    "gas": 3986.68603515625, "water": 0, "tariff": 0,
}
SOLAR_SAMPLE = [{"id": "xxxxxxxxxx", "localid": "A01", "device": "Sofar HYD 5000-EP",
                 "power": 0.00999999977648258, "energy": 954.5, "fault": 0,
                 "direct_timeout": False}]
BATTERY_SAMPLE = [{"id": "xxxxxxxxxx", "localid": "A01", "device": "Sofar HYD 5000-EP",
                   "power": 0, "energy_charged": 506.20001220703125,
                   "energy_discharged": 504.80001831054688, "direct_timeout": False,
                   "battery": {"voltage": 50.600002288818359, "soc": 10, "fault": 0}}]

"""Home Assistant over MQTT: entity specs (`entities`), discovery payloads and topics
(`discovery`, pure), points to entity values (`mapping`, pure), the bounded latest-value queue
(`queue`), the connection (`publisher`, aiomqtt on paho-mqtt 2.x) and the `check` probe (`probe`).
Only `publisher` and `probe` import aiomqtt, and only the app imports them, when `[mqtt]` is on.
"""

"""The local runtime: what stands in for AWS when Holdfast runs on a developer's machine.

``engine`` starts a DynamoDB engine (DynamoDB Local, moto, or one at a URL), gives the
process the environment Lambda and the template would give a deployed function, and creates
the template's table; ``holdfast dev``, the bench and the test fixtures all use it. Around it:
``template`` reads template.yaml, ``api`` turns HTTP requests into the handlers' events,
``http_front`` serves them on a socket, ``worker_pool`` and ``process_map`` run handlers in
forked execution environments, ``stream_poller`` and ``scheduler`` deliver the table's stream
and the scheduled events.
"""

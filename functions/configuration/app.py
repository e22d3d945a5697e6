"""Configuration: channels (buffers, exclusions), locations, products and hold timers."""

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from holdfast.domain.configuration import (
    Channel,
    ChannelConfig,
    Location,
    LocationConfig,
    Product,
    ProductConfig,
    TimerConfig,
)
from holdfast.domain.refs import REF_PATTERN
from holdfast.http import create_resolver
from holdfast.runtime import get_runtime

logger = Logger()
app = create_resolver()

RefPath = Annotated[str, Path(pattern=REF_PATTERN)]


@app.put("/channels/<name>")
def put_channel(name: RefPath, body: ChannelConfig) -> Channel:
    return get_runtime().configuration.put_channel(name, body)


@app.get("/channels/<name>")
def get_channel(name: RefPath) -> Channel:
    return get_runtime().configuration.channel(name)


@app.put("/locations/<ref>")
def put_location(ref: RefPath, body: LocationConfig) -> Location:
    return get_runtime().configuration.put_location(ref, body)


@app.get("/locations/<ref>")
def get_location(ref: RefPath) -> Location:
    return get_runtime().configuration.location(ref)


@app.put("/products/<ref>")
def put_product(ref: RefPath, body: ProductConfig) -> Product:
    return get_runtime().configuration.put_product(ref, body)


@app.get("/products/<ref>")
def get_product(ref: RefPath) -> Product:
    return get_runtime().configuration.product(ref)


@app.put("/timers")
def put_timers(body: TimerConfig) -> TimerConfig:
    return get_runtime().configuration.put_timers(body)


@app.get("/timers")
def get_timers() -> TimerConfig:
    return get_runtime().configuration.timers()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

"""Chat consumers."""
import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer, WebsocketConsumer


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """Chat room: joins the room's group and relays its messages."""

    async def connect(self) -> None:
        """Join the room's group."""
        room_id = self.scope["url_route"]["kwargs"]["room_id"]
        self.room_group_name = f"chat:room:{room_id}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the room's group."""
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        """Relay a message to everyone in the room (a channel-layer message)."""
        await self.channel_layer.group_send(
            self.room_group_name,
            {"type": "chat.message", "author_id": self.scope["user"].pk, "text": content["text"]},
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        """Send a room message to the browser."""
        await self.send_json({"type": "message", "author_id": event["author_id"], "text": event["text"]})


class NotificationConsumer(WebsocketConsumer):
    """Unread-notification counter."""

    def connect(self) -> None:
        """Join the user's notification group."""
        async_to_sync(self.channel_layer.group_add)(f"notifications.user.{self.scope['user'].pk}", self.channel_name)
        self.accept()

    def send_count(self, event: dict[str, Any]) -> None:
        """Send the unread count to the browser."""
        self.send(text_data=json.dumps({"type": "notification", "unreadCount": event["count"]}))

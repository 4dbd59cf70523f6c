DROP TABLE connections;
DROP TABLE users;
